"""The read side: a query string → ranked items with snippets (used by the HTTP API)."""

from __future__ import annotations

from typing import Any

from .adapters import queries
from .adapters.index import SearchIndex, analyzer
from .domain import query as user_query

#: /similar returns this many items
SIMILAR = 5


class SearchService:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._analyzer = analyzer()
        self._no_stopwords = analyzer(stopwords=True)

    def analyze(self, text: str) -> list[str]:
        return self._analyzer.analyze(text)

    def search(
        self, q: str, filters: queries.Filters, *, limit: int, offset: int = 0
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of results, and whether there are more."""
        parsed = user_query.parse(q, self._analyzer.analyze)
        if parsed.empty:
            return [], False  # nothing searchable in it (only punctuation, say)
        searcher = self.index.searcher()
        text = queries.text_query(parsed, searcher=searcher)
        hits, more = queries.run(
            searcher, queries.ranked(text, filters), limit=limit, offset=offset
        )
        snippets = queries.Snippets(searcher, text)
        return [queries.item(h, snippets.of(h.state)) for h in hits], more

    def similar(self, title: str) -> list[dict[str, Any]]:
        """Threads and ideas most like ``title``: every word counts (stop words aside)."""
        parsed = user_query.parse(title.replace('"', " "), self._no_stopwords.analyze)
        if parsed.empty:
            parsed = user_query.parse(title.replace('"', " "), self._analyzer.analyze)
        if parsed.empty:
            return []
        text = queries.text_query(parsed, fuzzy=False)
        searcher = self.index.searcher()
        hits, _ = queries.run(searcher, queries.ranked(text, queries.Filters()), limit=SIMILAR)
        snippets = queries.Snippets(searcher, text)
        return [queries.item(h, snippets.of(h.state)) for h in hits]
