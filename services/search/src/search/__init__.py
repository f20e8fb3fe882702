"""Search service: a full-text index of threads and ideas, fed by forum.events and ideas.events."""
