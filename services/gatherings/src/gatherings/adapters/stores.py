"""The repositories of the three aggregates (communitykit.repository: load → command → ONE
version-guarded update with the events in the document's outbox) and the per-process group
commit of the hot ones (combiner.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from communitykit.repository import Repository
from schemas import topics

from ..config import Settings
from ..domain.errors import GatheringNotFoundError, GiveawayNotFoundError, QuestionNotFoundError
from ..domain.gathering import Gathering
from ..domain.giveaway import Giveaway
from ..domain.question import Question
from .combiner import Combiner
from .documents import (
    gathering_doc,
    giveaway_doc,
    question_doc,
    to_gathering,
    to_giveaway,
    to_question,
)
from .mongo import GatheringsDb
from .records import Needs, Records

TOPIC = topics.GATHERINGS_EVENTS


class Stores:
    def __init__(self, db: GatheringsDb, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.gatherings: Repository[Gathering] = Repository(
            db.gatherings,
            TOPIC,
            load=to_gathering,
            dump=gathering_doc,
            missing=lambda i: GatheringNotFoundError(f"no gathering {i!r}"),
        )
        self.questions: Repository[Question] = Repository(
            db.questions,
            TOPIC,
            load=to_question,
            dump=question_doc,
            missing=lambda i: QuestionNotFoundError(f"no question {i!r}"),
        )
        self.giveaways: Repository[Giveaway] = Repository(
            db.giveaways,
            TOPIC,
            load=to_giveaway,
            dump=giveaway_doc,
            missing=lambda i: GiveawayNotFoundError(f"no giveaway {i!r}"),
        )
        #: the members' own RSVP records (written by the projection only)
        self.records = Records(db.rsvps)
        #: RSVPs and check-ins of one gathering that reach this replica together: one write
        self.gathering_writes: Combiner[Gathering] = Combiner(
            self.gatherings, settings.rsvp_batch_max, prepare=self._prepare_batch
        )
        #: entries of one giveaway that reach this replica together: one write
        self.giveaway_writes: Combiner[Giveaway] = Combiner(self.giveaways, settings.rsvp_batch_max)

    async def _prepare_batch(self, g: Gathering, needs: Sequence[Any]) -> None:
        await self.records.prepare(g, Needs.merge(n for n in needs if n is not None))

    def prepare(self, needs: Needs) -> Any:
        """A ``prepare`` for ``gatherings.change``: hands the loaded gathering its records."""

        async def run(g: Gathering) -> None:
            await self.records.prepare(g, needs)

        return run
