"""Analytics service."""
