"""A user's query string → words and phrases (pure).

The string is data, never syntax for the engine: there are no field names, operators,
ranges or regexes, only words and ``"quoted phrases"``. Every piece goes through the same
analyzer as the indexed text (so "Routers" finds "router"), and the number of clauses is
capped, so that any string — quotes, operators, unicode, 10 kB — costs a bounded query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: at most this many words and phrases are used (the rest of a very long query is ignored)
MAX_CLAUSES = 24
#: words in one phrase
MAX_PHRASE_WORDS = 12
#: fuzzy matching (typo tolerance) from this many characters: 1 edit, then 2 from the second
FUZZY_MIN_CHARS = 4
FUZZY_TWO_EDITS_CHARS = 9

_PHRASE = re.compile(r'"([^"]*)"')

Analyzer = Callable[[str], list[str]]


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases


def parse(text: str, analyze: Analyzer) -> ParsedQuery:
    """Split ``text`` into analyzed words and phrases (a one-word phrase is a word)."""
    phrases: list[tuple[str, ...]] = []
    words: list[str] = []
    seen: set[str] = set()

    def add_word(w: str) -> None:
        if w not in seen and len(words) + len(phrases) < MAX_CLAUSES:
            seen.add(w)
            words.append(w)

    for m in _PHRASE.finditer(text):
        tokens = analyze(m.group(1))[:MAX_PHRASE_WORDS]
        if len(tokens) > 1:
            if tuple(tokens) not in phrases and len(words) + len(phrases) < MAX_CLAUSES:
                phrases.append(tuple(tokens))
        elif tokens:
            add_word(tokens[0])
    # what is left once the balanced quotes are taken out; a stray quote is just a character
    for token in analyze(_PHRASE.sub(" ", text).replace('"', " ")):
        add_word(token)
    return ParsedQuery(tuple(words), tuple(phrases))


def fuzzy_distance(word: str) -> int:
    """Edits a typo may have for ``word`` (0: exact only)."""
    if len(word) >= FUZZY_TWO_EDITS_CHARS:
        return 2
    if len(word) >= FUZZY_MIN_CHARS:
        return 1
    return 0
