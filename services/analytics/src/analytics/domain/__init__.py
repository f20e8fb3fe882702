"""Pure analytics rules (SPEC 5): events → changes, projections → metrics."""
