"""Events of the search service (topic ``search.events``, key: the normalised query), version 1.

One ``SearchPerformed`` per answered query (optionally sampled): what members look for and
whether they found it, for listening's search gaps. It names no user (SPEC 1: queries and
result counts, no user ids) and carries no ``actorid``. Telemetry, published best effort.
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, register

#: the longest normalised query kept (longer ones are cut at a word boundary)
MAX_QUERY_LENGTH = 200
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_query(text: str) -> str:
    """The one normalisation of a query (the search service publishes it, listening
    compares question titles with it): Unicode NFKC, lower case, punctuation and runs of
    white space to one space, at most ``MAX_QUERY_LENGTH`` characters."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    words = _NOT_WORD.sub(" ", folded).split()
    out = ""
    for w in words:
        if len(out) + len(w) + (1 if out else 0) > MAX_QUERY_LENGTH:
            break
        out = f"{out} {w}" if out else w
    return out


class SearchEvent(EventData):
    producer: ClassVar[str] = "search"


@register
class SearchPerformed(SearchEvent):
    """A query was answered. ``query`` is :func:`normalize_query` of what was typed;
    ``sample_rate`` is the share of queries published (1.0: all), so a consumer can scale
    counts back up."""

    event_name: ClassVar[str] = "SearchPerformed"
    query: str = Field(min_length=1, max_length=MAX_QUERY_LENGTH)
    #: ``search`` (GET /search) or ``similar`` (GET /similar, the ask and submit forms)
    endpoint: Literal["search", "similar"]
    #: results on the first page (at most the request's limit; 0: nothing found, a gap)
    result_count: int = Field(ge=0)
    sample_rate: float = Field(gt=0, le=1)
    #: the filters the query was narrowed by (null: none)
    kind: str | None = None
    group_id: str | None = None
    tag: str | None = None
    product_id: str | None = None
