"""Access sessions, acting as the customer, credentials, the trail and its history."""
