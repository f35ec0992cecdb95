"""My data, exports, requests, erasure, the policy, sign-up and email-address changes."""
