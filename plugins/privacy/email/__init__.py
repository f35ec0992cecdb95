"""Email preferences (P12-P14, P27): categories, consent evidence, one-click and mailto
unsubscribe, campaigns and partner disclosures."""
