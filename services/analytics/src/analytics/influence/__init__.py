"""Influence (SPEC 5, version 2) and champions: who helped whom, PageRank, recomputed on a
schedule. ``facts`` + ``projection``: the graph from the events (same consumer, same
rebuild as the metrics); ``graph``: the index (pure); ``job`` + ``snapshot``: the scheduled
recompute and what the API reads; ``champions``, ``http``: the API."""
