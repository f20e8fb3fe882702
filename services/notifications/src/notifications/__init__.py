"""Notifications service: follows, an inbox, digests and a per-member budget."""
