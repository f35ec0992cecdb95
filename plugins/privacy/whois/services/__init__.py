"""The privacy switch, WHOIS and RDAP answers, the relay and disclosure cases."""
