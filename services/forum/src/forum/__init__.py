"""Forum service."""
