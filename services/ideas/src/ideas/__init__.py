"""Ideas service."""
