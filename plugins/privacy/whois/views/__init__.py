"""RDAP and the relay form, the domain panels, complaint cases, the settings."""
