"""Rate limits shared by every worker, app server and the WHOIS server (Redis or the database)."""
