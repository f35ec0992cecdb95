"""The preference centre, unsubscribe pages and campaigns."""
