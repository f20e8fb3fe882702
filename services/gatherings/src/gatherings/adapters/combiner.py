"""Group commit for a hot aggregate: the RSVPs (and check-ins, entries) that reach ONE replica
for ONE gathering at the same moment are applied as one command to the aggregate and saved in
ONE version-guarded update (communitykit.repository: the only retry loop).

Why: 200 members RSVPing in the same second to one gathering all change the same document
(its seats and waitlist must be decided together). One guarded update per request would make
them collide: each round of the version race has one winner, so the last request would lose
~200 times. Folded per replica, a round has at most one contender per replica, and a write
carries as many RSVPs as arrived meanwhile. Correctness still comes only from the store's
atomic single-document update guarded by the version: the batching is an optimisation of
the same write, not a lock (two replicas still race, and the loser re-runs its whole batch
on the winner's state).

Each operation in a batch is run against the aggregate in arrival order; one that fails a
rule (a domain error) is answered with its error and leaves the aggregate as it found it
(every command checks before it mutates), the others go on. ``prepare`` (optional) is
awaited after every load with what the batch's operations said they read (their ``need``),
to hand the aggregate what lives outside its document (Repository.change's ``prepare``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from communitykit.problems import ProblemError
from communitykit.repository import Repository, Saved

A = TypeVar("A")
Op = Callable[[A], Sequence[Any]]


@dataclass
class _Pending(Generic[A]):
    op: Op[A]
    need: Any = None
    done: asyncio.Future[tuple[A, list[Any]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Combiner(Generic[A]):
    """Per-process group commit of operations on aggregates of one repository."""

    def __init__(
        self,
        repo: Repository[A],
        max_batch: int = 200,
        prepare: Callable[[A, list[Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        self.prepare = prepare
        self.max_batch = max_batch
        self._queues: dict[str, list[_Pending[A]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, doc_id: str, op: Op[A], need: Any = None) -> tuple[A, list[Any]]:
        """Run ``op`` on the aggregate inside a (possibly shared) guarded save; return the
        aggregate as saved and the events ``op`` produced. A domain error of ``op`` is
        raised here, to its caller only."""
        pending = _Pending(op, need)
        queue = self._queues.get(doc_id)
        if queue is None:
            self._queues[doc_id] = [pending]
            task = asyncio.create_task(self._drain(doc_id), name=f"combine-{doc_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            queue.append(pending)
        return await pending.done

    async def _drain(self, doc_id: str) -> None:
        while True:
            queue = self._queues.get(doc_id) or []
            batch, rest = queue[: self.max_batch], queue[self.max_batch :]
            if not batch:
                self._queues.pop(doc_id, None)
                return
            # requests arriving while this batch is saved queue up for the next one
            self._queues[doc_id] = rest
            await self._save(doc_id, batch)

    async def _save(self, doc_id: str, batch: list[_Pending[A]]) -> None:
        outcomes: list[list[Any] | ProblemError] = []

        def command(aggregate: A) -> list[Any]:
            # re-run from scratch on every attempt (a lost race reloads the aggregate)
            outcomes.clear()
            events: list[Any] = []
            for p in batch:
                try:
                    produced = list(p.op(aggregate))
                except ProblemError as e:
                    outcomes.append(e)
                    continue
                outcomes.append(produced)
                events += produced
            return events

        prepare = None
        if self.prepare is not None:
            needs = [p.need for p in batch]
            hand_over = self.prepare

            async def prepare(aggregate: A) -> None:
                await hand_over(aggregate, needs)

        try:
            saved: Saved[A] = await self.repo.change(doc_id, command, prepare=prepare)
        except Exception as e:  # noqa: BLE001 - not found, conflict, store down: all callers learn it
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(e)
            return
        for p, outcome in zip(batch, outcomes, strict=True):
            if p.done.done():
                continue
            if isinstance(outcome, ProblemError):
                p.done.set_exception(outcome)
            else:
                p.done.set_result((saved.aggregate, outcome))
