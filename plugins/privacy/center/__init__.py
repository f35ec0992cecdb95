"""The subscriber's privacy center (P06-P10): My data, exports, data requests, erasure, the
privacy policy and consent at sign-up, and changing the sign-in address."""
