"""The tantivy index on local disk: schema, analyzer, state documents and the position.

Documents (one per thread / idea, see ``domain.documents``): a raw ``key`` (the delete
term), the JSON ``state`` (stored, not searchable) and the searchable fields derived from
it. One more document, ``meta:position``, holds the Kafka offsets the index covers; it is
replaced in the same commit as the documents of the batch, and a tantivy commit is atomic
(new segments, then one atomic rename of ``meta.json``), so after a kill -9 at any point the
index and its position always agree: the consumer resumes exactly where the index ends.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import tantivy

from ..domain.documents import Searchable, State, searchable

log = logging.getLogger(__name__)

#: bump when the schema or the derivation of fields changes: an older index is rebuilt
SCHEMA_VERSION = 2
TOKENIZER = "community"
META_KEY = "meta:position"
WEIGHT_FIELD = "weight"
#: log2(2 + w) = 1.5: a solved question's score counts 1.5 times
SOLVED_WEIGHT = 2**1.5 - 2
TEXT_FIELDS = ("title", "body", "accepted", "replies")
FILTER_FIELDS = ("type", "kind", "group_id", "tags", "product_id")

#: topic → partition (as text) → next offset to read
Offsets = dict[str, dict[str, int]]


def analyzer(*, stopwords: bool = False) -> tantivy.TextAnalyzer:
    """Unicode words, lowercased, accents folded, English stems (indexed text and queries
    go through the same one). ``stopwords`` drops English stop words (for /similar)."""
    b = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stopwords:
        b = b.filter(tantivy.Filter.stopword("english"))
    return b.filter(tantivy.Filter.stemmer("english")).build()


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("key", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("state", stored=True)
    for name in TEXT_FIELDS:  # positions: phrase queries
        sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
    for name in FILTER_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_unsigned_field("solved", indexed=True)
    # the solved boost, applied by ``Searcher.search(weight_by_field=...)``, which multiplies
    # a document's score by log2(2 + weight): weight 0 → x1, SOLVED_WEIGHT → x1.5
    sb.add_float_field(WEIGHT_FIELD, fast=True)
    return sb.build()


SCHEMA = build_schema()


def to_document(key: str, state: State) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("key", key)
    doc.add_bytes("state", orjson.dumps(state, option=orjson.OPT_SORT_KEYS))
    s = searchable(state)
    if s is not None:
        _add_searchable(doc, s)
    return doc


def _add_searchable(doc: tantivy.Document, s: Searchable) -> None:
    doc.add_text("type", s.type)
    doc.add_text("title", s.title)
    if s.body:
        doc.add_text("body", s.body)
    if s.accepted:
        doc.add_text("accepted", s.accepted)
    for r in s.replies:
        doc.add_text("replies", r)
    if s.kind:
        doc.add_text("kind", s.kind)
    if s.group_id:
        doc.add_text("group_id", s.group_id)
    for t in s.tags:
        doc.add_text("tags", t)
    if s.product_id:
        doc.add_text("product_id", s.product_id)
    doc.add_unsigned("solved", int(s.solved))
    doc.add_float(WEIGHT_FIELD, SOLVED_WEIGHT if s.solved else 0.0)


class SearchIndex:
    """One on-disk index (``path``), or an in-memory one (``path=None``, unit tests)."""

    def __init__(self, path: str | None, *, heap_bytes: int = 64_000_000, threads: int = 1) -> None:
        self.schema = SCHEMA
        self.path = path
        self.index = self._open(path)
        self._heap = heap_bytes
        self._threads = threads
        self._writer: tantivy.IndexWriter | None = None

    def _open(self, path: str | None) -> tantivy.Index:
        if path is None:
            return self._with_tokenizer(tantivy.Index(self.schema))
        Path(path).mkdir(parents=True, exist_ok=True)
        try:
            index = self._with_tokenizer(tantivy.Index(self.schema, path, reuse=True))
            meta = read_meta(index.searcher())
            if meta.get("schema", SCHEMA_VERSION) == SCHEMA_VERSION:
                return index
            log.warning("index at %s has schema %s: rebuilding it", path, meta.get("schema"))
        except ValueError:
            log.warning("index at %s is unreadable or of another schema: rebuilding it", path)
        shutil.rmtree(path)
        Path(path).mkdir(parents=True)
        return self._with_tokenizer(tantivy.Index(self.schema, path, reuse=False))

    @staticmethod
    def _with_tokenizer(index: tantivy.Index) -> tantivy.Index:
        index.register_tokenizer(TOKENIZER, analyzer())
        # searches see exactly what ``reload`` made visible (after each of our commits)
        index.config_reader(reload_policy="manual")
        return index

    @classmethod
    def open_readonly(cls, path: str) -> SearchIndex:
        """Another process's index, for reading only (no writer, never recreated)."""
        if not tantivy.Index.exists(path):
            raise FileNotFoundError(f"no index at {path}")
        self = cls.__new__(cls)
        self.schema, self.path, self._writer = SCHEMA, path, None
        self._heap, self._threads = 0, 0
        self.index = cls._with_tokenizer(tantivy.Index.open(path))
        return self

    # ------------------------------------------------------------------ reads
    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def meta(self) -> dict[str, Any]:
        return read_meta(self.searcher())

    def load(self, keys: Iterable[str]) -> dict[str, State]:
        """The committed states of ``keys`` (absent keys are left out)."""
        wanted = list(keys)
        if not wanted:
            return {}
        searcher = self.searcher()
        query = tantivy.Query.term_set_query(self.schema, "key", wanted)
        out: dict[str, State] = {}
        for _score, addr in searcher.search(query, len(wanted), count=False).hits:
            doc = searcher.doc(addr)
            out[doc_key(doc)] = orjson.loads(doc_state(doc))
        return out

    # ------------------------------------------------------------------ writes (one writer)
    def write(self, states: Mapping[str, State], fresh: set[str], meta: dict[str, Any]) -> None:
        """Replace the documents of ``states`` (``fresh`` ones are known not to exist yet)
        and the position, in ONE commit; then make it visible to searches."""
        w = self._writer_()
        try:
            for key, state in states.items():
                if key not in fresh:
                    w.delete_documents_by_term("key", key)
                w.add_document(to_document(key, state))
            w.delete_documents_by_term("key", META_KEY)
            w.add_document(meta_document({**meta, "schema": SCHEMA_VERSION}))
            w.commit()
        except BaseException:
            w.rollback()  # nothing of a failed batch may reach a later commit
            raise
        self.index.reload()

    def _writer_(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=self._heap, num_threads=self._threads)
        return self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    # ------------------------------------------------------------------ rebuild support
    def digest(self, searcher: tantivy.Searcher | None = None) -> dict[str, Any]:
        """sha256 over every document's key and state (sorted by key), plus the count."""
        searcher = searcher or self.searcher()
        n = searcher.num_docs
        rows: list[tuple[str, bytes]] = []
        if n:
            for _score, addr in searcher.search(tantivy.Query.all_query(), n, count=False).hits:
                doc = searcher.doc(addr)
                key = doc_key(doc)
                if key != META_KEY:
                    rows.append((key, doc_state(doc)))
        h = hashlib.sha256()
        for key, state in sorted(rows):
            h.update(key.encode() + b"\0" + state + b"\n")
        return {"documents": len(rows), "sha256": h.hexdigest()}


def meta_document(meta: dict[str, Any]) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("key", META_KEY)
    doc.add_bytes("state", orjson.dumps(meta, option=orjson.OPT_SORT_KEYS))
    return doc


def read_meta(searcher: tantivy.Searcher) -> dict[str, Any]:
    """The committed position document ({} for a new index)."""
    hits = searcher.search(tantivy.Query.term_query(SCHEMA, "key", META_KEY), 1).hits
    if not hits:
        return {}
    meta: dict[str, Any] = orjson.loads(doc_state(searcher.doc(hits[0][1])))
    return meta


def doc_key(doc: tantivy.Document) -> str:
    key = doc.get_first("key")
    assert isinstance(key, str)
    return key


def doc_state(doc: tantivy.Document) -> bytes:
    state = doc.get_first("state")
    assert isinstance(state, bytes)
    return state
