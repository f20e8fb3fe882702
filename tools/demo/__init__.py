"""``make demo``: a community traffic simulator through the public HTTP APIs only."""
