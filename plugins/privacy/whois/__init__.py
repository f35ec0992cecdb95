"""WHOIS privacy (P19, P20): the per-domain switch, port-43 WHOIS, RDAP with redaction, the
contact relay and legal-disclosure cases."""
