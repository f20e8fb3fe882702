"""Verify a giveaway's draw: ``python -m gatherings.verify proof.json`` (standard library only).

Anyone can check a drawing with this file alone. The proof is the JSON of
``GET /gatherings/{id}/giveaways/{gid}/proof`` (or one rebuilt from the ``gatherings.events``
topic: GiveawayOpened, GiveawayEntered, GiveawayClosed, GiveawayDrawn):

    {"algorithm": "hmac-sha256-rejection-v1", "seed": "...", "seed_commitment": "<hex>",
     "entrants": ["u1", "u2", ...], "entrants_hash": "<hex>",
     "draws": [{"round": 1, "entrants_hash": "<hex>", "winners": ["u2"], "replaced": []}, ...],
     "winner_count": 1, "winners": ["u2"]}

Commitments (lowercase hex SHA-256):

* ``seed_commitment = sha256(seed.encode("utf-8"))``, published when the giveaway opens, long
  before anyone knows the entrants; the seed is revealed only by the draw;
* ``entrants_hash = sha256("\\n".join(sorted(entrants)).encode("utf-8"))``, published when
  entries close, before the seed is revealed.

The draw (``hmac-sha256-rejection-v1``) picks ``k`` winners from the sorted pool without
replacement by a partial Fisher-Yates shuffle. Its random numbers are a counter stream:
block ``c`` (c = 0, 1, ...) is ``HMAC-SHA256(key=seed, msg=f"{entrants_hash}:{round}:{c}")``,
cut into four 64-bit big-endian integers. To choose among ``n`` candidates a number ``x`` is
taken from the stream and REJECTED when ``x >= (2**64 // n) * n`` (no modulo bias); the
first accepted ``x`` picks index ``j + x % n`` of the remaining pool, swapped to place ``j``.

A re-draw (a winner who did not claim) is round ``r`` over the entrants minus every earlier
winner: its ``entrants_hash`` is that pool's hash and it draws ``len(replaced)`` winners.
The current winners are round 1's winners, minus those replaced, plus each re-draw's.

Exit status 0 when every check passes (``OK`` and the winners are printed), 1 otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

ALGORITHM = "hmac-sha256-rejection-v1"
_SPACE = 2**64


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seed_commitment(seed: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 seed."""
    return sha256_hex(seed)


def entrants_hash(entrants: Sequence[str]) -> str:
    """Lowercase hex SHA-256 of the sorted entrant ids joined by newlines (UTF-8)."""
    return sha256_hex("\n".join(sorted(entrants)))


def _stream(seed: str, pool_hash: str, round_no: int) -> Iterator[int]:
    counter = 0
    key = seed.encode("utf-8")
    while True:
        block = hmac.new(key, f"{pool_hash}:{round_no}:{counter}".encode(), "sha256").digest()
        for i in range(0, 32, 8):
            yield int.from_bytes(block[i : i + 8], "big")
        counter += 1


def draw(seed: str, entrants: Sequence[str], k: int, round_no: int = 1) -> list[str]:
    """The ``k`` winners (in drawing order) among ``entrants`` (any order; sorted here)."""
    pool = sorted(set(entrants))
    stream = _stream(seed, entrants_hash(pool), round_no)
    winners: list[str] = []
    for j in range(min(k, len(pool))):
        n = len(pool) - j
        limit = (_SPACE // n) * n
        x = next(stream)
        while x >= limit:  # rejection sampling: every index equally likely
            x = next(stream)
        i = j + x % n
        pool[j], pool[i] = pool[i], pool[j]
        winners.append(pool[j])
    return winners


class ProofError(ValueError):
    """A check failed; the message says which."""


def verify(proof: dict[str, Any]) -> list[str]:
    """Check every commitment and recompute every round; return the current winners."""
    if proof.get("algorithm") != ALGORITHM:
        raise ProofError(f"unknown algorithm {proof.get('algorithm')!r}")
    seed = proof.get("seed")
    if not isinstance(seed, str) or not seed:
        raise ProofError("no seed: the giveaway is not drawn yet")
    if seed_commitment(seed) != proof.get("seed_commitment"):
        raise ProofError("the seed does not match its commitment")
    entrants = [str(e) for e in proof.get("entrants") or []]
    if len(set(entrants)) != len(entrants):
        raise ProofError("an entrant is listed twice")
    if entrants_hash(entrants) != proof.get("entrants_hash"):
        raise ProofError("the entrants do not match the published entrants hash")
    draws = sorted(proof.get("draws") or [], key=lambda d: int(d["round"]))
    if not draws:
        raise ProofError("no draw recorded")
    current: list[str] = []
    drawn_before: set[str] = set()
    for expected_round, d in enumerate(draws, start=1):
        if int(d["round"]) != expected_round:
            raise ProofError(f"round {expected_round} is missing")
        replaced = [str(r) for r in d.get("replaced") or []]
        pool = [e for e in entrants if e not in drawn_before]
        if entrants_hash(pool) != d.get("entrants_hash"):
            raise ProofError(f"round {expected_round}: the pool does not match its hash")
        if expected_round == 1:
            # the giveaway's number of winners (fewer only when fewer entered)
            k = int(proof.get("winner_count", len(d.get("winners") or [])))
        else:
            if not replaced or not set(replaced) <= set(current):
                raise ProofError(f"round {expected_round} replaces someone who is not a winner")
            k = len(replaced)
        got = draw(seed, pool, k, expected_round)
        if got != list(d.get("winners") or []):
            raise ProofError(
                f"round {expected_round}: recomputed winners {got} differ from {d.get('winners')}"
            )
        current = [w for w in current if w not in replaced] + got
        drawn_before.update(got)
    if "winners" in proof and list(proof["winners"]) != current:
        raise ProofError(f"announced winners {proof['winners']} differ from {current}")
    return current


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m gatherings.verify proof.json", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as f:
            proof = json.load(f)
        winners = verify(proof)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"FAILED: {e}")
        return 1
    print(f"OK: winners {winners}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
