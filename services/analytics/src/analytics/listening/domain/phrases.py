"""Phrases of a text for trending terms: 1- and 2-word phrases, stop words out, stemmed with
the Snowball English stemmer (snowballstemmer 3.1.1, pure Python, no data to download).

A bigram is two adjacent words with no stop word between them: "the battery drains fast"
gives "batteri", "drain", "fast", "batteri drain" and "drain fast"; in "the battery is
draining" the stop word "is" breaks the pair. A term is the stemmed form ("batteri
drain"); its display form is the smallest surface form seen (``$min``: the same whatever
the arrival order).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer

#: at most this many distinct terms per item, in order of first appearance (bounds the work
#: and the writes of one huge post)
MAX_TERMS = 64
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

#: English stop words (function words, auxiliaries, pronouns, and the forum's own filler such
#: as "hi", "thanks", "please"): they carry no topic
_STOP_TEXT = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each else even ever every few for from further get gets
got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's
its itself just let's like me more most much must mustn't my myself no nor not now of off
on once one only or other ought our ours ourselves out over own per quite rather really
same shan't she she'd she'll she's should shouldn't since so some still such than that
that's the their theirs them themselves then there there's these they they'd they'll
they're they've this those though through thus to too under until up upon us very via was
wasn't we we'd we'll we're we've were weren't what what's when when's where where's
whether which while who who's whom whose why why's will with within without won't would
wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves hi hello
hey thanks thank please anyone someone something anything everything thing things know
think want need use used using way lot lots bit get getting go going make made
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:  # type: ignore[name-defined]
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def words(text: str) -> list[str | None]:
    """Lower-case words; ``None`` where a stop word, a number or a one-letter word breaks a
    phrase."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    out: list[str | None] = []
    for m in _WORD.finditer(folded):
        w = m.group().replace("'", "")
        if m.group() in STOP_WORDS or w in STOP_WORDS or len(w) < 2 or w.isdigit():
            out.append(None)
        else:
            out.append(w)
    return out


def phrases(text: str, limit: int = MAX_TERMS) -> dict[str, str]:
    """``{term: surface}``: the distinct 1- and 2-word terms of ``text`` (stemmed), each
    with the first surface form it had here, at most ``limit`` in order of appearance."""
    out: dict[str, str] = {}
    prev: str | None = None
    for w in words(text):
        if w is None:
            prev = None
            continue
        candidates = [(stem(w), w)]
        if prev is not None:
            candidates.append((f"{stem(prev)} {stem(w)}", f"{prev} {w}"))
        for term, surface in candidates:
            if term not in out:
                if len(out) >= limit:
                    return out
                out[term] = surface
        prev = w
    return out
