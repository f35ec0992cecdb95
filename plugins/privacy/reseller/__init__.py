"""Resellers as controllers (P25-P27): their customers' data requests and their removal
requests to the host."""
