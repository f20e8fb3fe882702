"""Listening (issue 26 items 1-4): what members talk about and how they feel.

* ``domain/``: pure rules (VADER sentiment, phrases, the count-min sketch's layout, the
  trending and spike rules, events → per-document changes);
* ``projection.py``: forum.events + ideas.events + search.events → its own collections,
  run by the analytics consumer (same group, same rebuild) beside the metric projections;
* ``store.py``: those collections and the API's reads; ``http.py``: ``/listening/*``.
"""
