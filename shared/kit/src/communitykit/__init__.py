"""Shared runtime library of the community services (one place, not four copies)."""
