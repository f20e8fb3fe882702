"""How ideas and comments are stored: the kit's ``Repository`` per aggregate, the document
builders, the projections a command loads with, and the queries of the background jobs.

Every write goes through ``communitykit.repository.Repository``: load → the aggregate's
command → ONE guarded single-document update that also records the command's events in the
document's outbox (communitykit.outbox), the lost race re-run there and nowhere else.
``voters`` and ``vote_days`` are saved entry by entry (``maps``), so a vote loads and writes
only its own voter; ``votes``, ``recent_votes`` and the day buckets move by ``$inc``
(``counters``), so a vote saved with ``concurrent=True`` asserts only its voter's entry (and
the buckets it touches) instead of the idea's version, and voters of one idea never make each
other retry. Every other command is version-guarded. No application locks and no
multi-document transactions: MongoDB applies each update atomically, which is all this
relies on.
"""

from __future__ import annotations

from datetime import datetime

from communitykit.repository import Repository
from schemas import topics

from ..domain.errors import IdeaNotFoundError
from ..domain.model import NO_DAY, Idea, IdeaComment, StatusChange, window_start
from .mongo import Doc, IdeasDb

TOPIC = topics.IDEAS_EVENTS

#: every stored field of an idea except ``voters`` (loaded on demand) and the outbox
FIELDS = (
    "title",
    "description",
    "category",
    "product_area",
    "author_id",
    "created_at",
    "status",
    "status_history",
    "votes",
    "recent_votes",
    "vote_days",
    "oldest_vote_day",
    "merged_into",
    "merging_into",
    "merge_attempt",
    "merge_started_at",
    "merge_by",
    "merged_from",
)
#: load an idea without any voter (status moves, comments, merge bookkeeping, trending)
NO_VOTERS: Doc = {f: 1 for f in FIELDS}
#: the conditions of a vote beyond its own entry: the idea is not (being) merged
LIVE: Doc = {"merged_into": None, "merging_into": None}


def one_voter(key: str) -> Doc:
    """Load an idea with only this voter's entry of ``voters`` (a vote, ``my_vote``)."""
    return {**NO_VOTERS, f"voters.{key}": 1}


def history_doc(c: StatusChange) -> Doc:
    return {
        "from_status": c.from_status,
        "to_status": c.to_status,
        "changed_by": c.changed_by,
        "note": c.note,
        "at": c.at,
    }


def to_idea(doc: Doc) -> Idea:
    return Idea(
        idea_id=doc["_id"],
        title=doc["title"],
        description=doc["description"],
        category=doc["category"],
        product_area=doc["product_area"],
        author_id=doc["author_id"],
        created_at=doc["created_at"],
        status=doc["status"],
        votes=int(doc.get("votes", 0)),
        recent_votes=int(doc.get("recent_votes", 0)),
        merged_into=doc.get("merged_into"),
        merging_into=doc.get("merging_into"),
        merge_attempt=doc.get("merge_attempt"),
        merge_started_at=doc.get("merge_started_at"),
        merge_by=doc.get("merge_by"),
        merged_from=list(doc.get("merged_from") or []),
        status_history=[StatusChange(**h) for h in doc.get("status_history") or []],
        voters=dict(doc.get("voters") or {}),
        vote_days={k: int(v) for k, v in (doc.get("vote_days") or {}).items()},
        oldest_vote_day=doc.get("oldest_vote_day", NO_DAY),
    )


def idea_doc(idea: Idea) -> Doc:
    """The stored fields of an idea (the repository adds ``_id``, ``version``, the outbox)."""
    return {
        "title": idea.title,
        "description": idea.description,
        "category": idea.category,
        "product_area": idea.product_area,
        "author_id": idea.author_id,
        "created_at": idea.created_at,
        "status": idea.status,
        "status_history": [history_doc(c) for c in idea.status_history],
        "votes": idea.votes,
        "recent_votes": idea.recent_votes,
        "voters": idea.voters,
        "vote_days": idea.vote_days,
        "oldest_vote_day": idea.oldest_vote_day,
        "merged_into": idea.merged_into,
        "merging_into": idea.merging_into,
        "merge_attempt": idea.merge_attempt,
        "merge_started_at": idea.merge_started_at,
        "merge_by": idea.merge_by,
        "merged_from": idea.merged_from,
    }


def comment_doc(c: IdeaComment) -> Doc:
    return {
        "idea_id": c.idea_id,
        "author_id": c.author_id,
        "body": c.body,
        "created_at": c.created_at,
    }


def to_comment(doc: Doc) -> IdeaComment:
    return IdeaComment(doc["_id"], doc["idea_id"], doc["author_id"], doc["body"], doc["created_at"])


def ideas_repository(db: IdeasDb) -> Repository[Idea]:
    return Repository(
        db.ideas,
        TOPIC,
        load=to_idea,
        dump=idea_doc,
        missing=lambda i: IdeaNotFoundError(f"no idea {i!r}"),
        maps=("voters", "vote_days"),
        counters=("votes", "recent_votes", "vote_days"),
    )


def comments_repository(db: IdeasDb) -> Repository[IdeaComment]:
    return Repository(db.comments, TOPIC, load=to_comment, dump=comment_doc)


# ---------------------------------------------------------------------- queries
async def votes_of(db: IdeasDb, idea_id: str) -> int:
    """The stored count right after a vote (FerretDB 1.24 cannot project a findAndModify,
    and the whole document would carry every voter)."""
    doc = await db.ideas.find_one({"_id": idea_id}, {"votes": 1})
    return int(doc["votes"]) if doc else 0


async def stale_merges(db: IdeasDb, before: datetime, limit: int = 100) -> list[Doc]:
    """Merges begun before ``before`` and not settled (index ``merge_started_at``)."""
    return await (
        db.ideas.find(
            {"merge_started_at": {"$lt": before}},
            {"merging_into": 1, "merge_attempt": 1, "merge_by": 1},
        )
        .limit(limit)
        .to_list(None)
    )


async def ideas_with_expired_days(db: IdeasDb, now: datetime, limit: int = 200) -> list[str]:
    """Ideas holding a vote-day bucket older than the trending window (index
    ``oldest_vote_day``)."""
    docs = await (
        db.ideas.find({"oldest_vote_day": {"$lt": window_start(now)}}, {"_id": 1})
        .limit(limit)
        .to_list(None)
    )
    return [d["_id"] for d in docs]
