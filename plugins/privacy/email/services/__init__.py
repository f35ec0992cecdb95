"""Preferences and consent, unsubscribe links, campaigns, partners and mailto."""
