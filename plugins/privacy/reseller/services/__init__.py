"""The reseller's request queue and its removal requests to the host."""
