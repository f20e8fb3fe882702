"""Queries on the index: relevance (BM25), boosts, typo tolerance, phrases, snippets.

The query is built clause by clause from analyzed words (``domain.query``), never by the
engine's query parser, so nothing a user types is interpreted as syntax.

Ranking, per word: BM25 on every text field, weighted (title x3, accepted answer x1.5,
opening post x1, other replies x0.5). A word that no title or opening post contains is
taken for a typo and also matches fuzzily (1 edit from 4 characters, 2 from 9) in the title
and opening post, scored a small constant, so that it finds the thread but never outranks
an exact word. ``"quoted phrases"`` must appear, in order, in one field.
A solved question scores x1.5 (a fast field that the collector multiplies the score by,
so the text query runs once). Filters score nothing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy
from tantivy import Occur, Query

from ..domain.documents import State
from ..domain.query import ParsedQuery, fuzzy_distance
from .index import SCHEMA, TEXT_FIELDS, WEIGHT_FIELD, doc_state

FIELD_BOOSTS = {"title": 3.0, "body": 1.0, "accepted": 1.5, "replies": 0.5}
FUZZY_BOOSTS = {"title": 0.6, "body": 0.3}
SNIPPET_CHARS = 180


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    group_id: str | None = None
    tag: str | None = None
    product_id: str | None = None

    def clauses(self) -> list[tuple[Occur, Query]]:
        pairs = [
            ("kind", self.kind),
            ("group_id", self.group_id),
            ("tags", self.tag),
            ("product_id", self.product_id),
        ]
        return [
            (Occur.Must, Query.const_score_query(Query.term_query(SCHEMA, f, v), 0.0))
            for f, v in pairs
            if v is not None
        ]


def _any_field(queries: list[Query]) -> Query:
    return Query.boolean_query([(Occur.Should, q) for q in queries])


def known(searcher: tantivy.Searcher, word: str) -> bool:
    """Whether some document has ``word`` in its title or opening post."""
    return any(searcher.doc_freq(f, word) for f in FUZZY_BOOSTS)


def text_query(
    pq: ParsedQuery, *, fuzzy: bool = True, searcher: tantivy.Searcher | None = None
) -> Query:
    """Words: optional, scored; phrases: required. Needs at least one clause.

    One flat disjunction of (word, field) term queries, which the engine scores fastest.
    A word no title or opening post contains (when a ``searcher`` tells) is probably a typo:
    it gets fuzzy clauses too (automaton queries cost more than terms, so only then)."""
    clauses: list[tuple[Occur, Query]] = []
    for w in pq.words:
        clauses += [
            (Occur.Should, Query.boost_query(Query.term_query(SCHEMA, f, w), b))
            for f, b in FIELD_BOOSTS.items()
        ]
        d = fuzzy_distance(w) if fuzzy else 0
        if d and (searcher is None or not known(searcher, w)):
            clauses += [
                (
                    Occur.Should,
                    Query.boost_query(Query.fuzzy_term_query(SCHEMA, f, w, d, True, False), b),
                )
                for f, b in FUZZY_BOOSTS.items()
            ]
    for phrase in pq.phrases:
        per = [
            Query.boost_query(Query.phrase_query(SCHEMA, f, list(phrase)), b)
            for f, b in FIELD_BOOSTS.items()
        ]
        clauses.append((Occur.Must, _any_field(per)))
    return Query.boolean_query(clauses)


def ranked(text: Query, filters: Filters) -> Query:
    """``text`` with the filters (the solved boost is applied by :func:`run`)."""
    return Query.boolean_query([(Occur.Must, text), *filters.clauses()])


@dataclass(frozen=True)
class Hit:
    state: State
    score: float


def run(
    searcher: tantivy.Searcher, query: Query, *, limit: int, offset: int = 0
) -> tuple[list[Hit], bool]:
    """The hits of one page (stored states decoded), and whether more follow."""
    hits = searcher.search(
        query, limit + 1, count=False, offset=offset, weight_by_field=WEIGHT_FIELD
    ).hits
    page = [
        Hit(orjson.loads(doc_state(searcher.doc(addr))), float(score))
        for score, addr in hits[:limit]
    ]
    return page, len(hits) > limit


class Snippets:
    """Highlighted fragments (HTML: the text escaped, matches in ``<b>``): from the opening
    post, else the accepted answer, else the other replies, else the opening post's start.
    (A generator highlights only the words its own field contains, hence one per field.)"""

    def __init__(self, searcher: tantivy.Searcher, text: Query) -> None:
        self._searcher, self._text = searcher, text
        self._gens: dict[str, tantivy.SnippetGenerator] = {}

    def _gen(self, field: str) -> tantivy.SnippetGenerator:
        if field not in self._gens:  # created on first use: most hits match the opening post
            g = tantivy.SnippetGenerator.create(self._searcher, self._text, SCHEMA, field)
            g.set_max_num_chars(SNIPPET_CHARS)
            self._gens[field] = g
        return self._gens[field]

    def of(self, state: State) -> str:
        texts = _texts(state)
        for field, values in texts.items():
            if not values:
                continue
            doc = tantivy.Document()
            for t in values:
                doc.add_text(field, t)
            snippet = self._gen(field).snippet_from_doc(doc)
            if snippet.highlighted():
                return snippet.to_html()
        return html.escape(_shorten(" ".join(texts["body"]) or state.get("title", "")))


def _texts(state: State) -> dict[str, list[str]]:
    """The visible text of a document per field, in the order snippets prefer."""
    if state["type"] == "idea":
        return {"body": [state["body"]] if state.get("body") else []}
    posts: dict[str, Any] = state.get("posts", {})
    opening = state.get("opening_post_id")
    accepted = state.get("accepted_post_id")
    visible = {pid: p["body"] for pid, p in posts.items() if not p["hidden"] and p["body"]}
    return {
        "body": [visible[opening]] if opening in visible else [],
        "accepted": [visible[accepted]] if accepted in visible else [],
        "replies": [b for pid, b in visible.items() if pid not in (opening, accepted)],
    }


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def item(hit: Hit, snippet: str) -> dict[str, Any]:
    """One result of SPEC 3 Search: {type, id, title, snippet, score} (+ what a UI needs)."""
    s = hit.state
    out: dict[str, Any] = {
        "type": s["type"],
        "id": s["id"],
        "title": s.get("title", ""),
        "snippet": snippet,
        "score": round(hit.score, 4),
    }
    if s["type"] == "thread":
        out["kind"] = s.get("kind")
        out["solved"] = s.get("accepted_post_id") is not None
    else:
        out["kind"] = "idea"
        out["status"] = s.get("status")
        out["merged_into"] = s.get("merged_into")  # a merged idea points to its target
    return out


__all__ = ["TEXT_FIELDS", "Filters", "Hit", "Snippets", "item", "ranked", "run", "text_query"]
