"""Sentiment of a text with VADER (vaderSentiment 3.3.2: its lexicon ships inside the wheel,
nothing is downloaded at run time).

The stored scores are exactly the library's ``polarity_scores`` of :func:`text_of` (4
decimals, as VADER rounds them); aggregates add the compound score as an integer number
of ten-thousandths so that sums do not depend on the order of the additions (a rebuild
must equal the live projection bit for bit).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Label = Literal["negative", "neutral", "positive"]
#: VADER's own recommended thresholds on the compound score
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
#: the longest text scored (VADER is linear in the text; a huge post costs no more than this)
MAX_CHARS = 20_000
#: compound scores are summed as integers of this unit
SCALE = 10_000


@dataclass(frozen=True, slots=True)
class Score:
    compound: float
    neg: float
    neu: float
    pos: float

    @property
    def label(self) -> Label:
        return label_of(self.compound)

    @property
    def units(self) -> int:
        """The compound score in ten-thousandths (exact: VADER rounds to 4 decimals)."""
        return round(self.compound * SCALE)


def label_of(compound: float) -> Label:
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


@functools.cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # ~12 ms to load the lexicon: once per process
    return SentimentIntensityAnalyzer()


def text_of(title: str | None, body: str | None) -> str:
    """The text an item is scored on: its title and its body, one per line."""
    return "\n".join(p for p in (title, body) if p)[:MAX_CHARS]


def score(text: str) -> Score:
    s = _analyzer().polarity_scores(text)
    return Score(s["compound"], s["neg"], s["neu"], s["pos"])
