"""Questions for the special guest: ask, vote, list, answer (one ``questions`` document
each; its events in its own outbox)."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, replay
from communitykit.pagination import page

from ..adapters.documents import to_question
from ..adapters.stores import Stores
from ..domain.commands import AnswerQuestion, AskQuestion, VoteQuestion
from ..domain.errors import QuestionNotFoundError
from ..domain.question import Question
from ..views import QuestionPage, QuestionView, question_view
from .common import new_id, now


async def ask(
    stores: Stores, user: Principal, gathering_id: str, cmd: AskQuestion, key: str | None
) -> Done:
    """POST /gatherings/{id}/questions → a ``questions`` document with GuestQuestionAsked."""
    idem = Idempotency.of("gatherings/ask", user.user_id, key, {"g": gathering_id, "cmd": cmd})
    if (done := await replay(stores.db.questions, idem)) is not None:
        return done
    g = await stores.gatherings.get(gathering_id)
    qid = idem.id() if idem else new_id("gq")
    q, events = Question.ask(g, user.user_id, cmd.body, now(), qid)
    return await stores.questions.add(qid, q, events, idem=idem, body={"question_id": qid})


async def _question(stores: Stores, gathering_id: str, question_id: str) -> Question:
    q = await stores.questions.get(question_id)
    if q.gathering_id != gathering_id:
        raise QuestionNotFoundError(f"no question {question_id!r} in this gathering")
    return q


async def vote(
    stores: Stores, user: Principal, gathering_id: str, question_id: str, cmd: VoteQuestion
) -> QuestionView:
    """PUT .../questions/{qid}/vote → ``voters`` and ``votes`` in one guarded update."""
    await _question(stores, gathering_id, question_id)
    saved = await stores.questions.change(question_id, lambda q: q.vote(user.user_id, cmd.value))
    return question_view(saved.aggregate)


async def answer(
    stores: Stores, user: Principal, gathering_id: str, question_id: str, cmd: AnswerQuestion
) -> QuestionView:
    """POST .../questions/{qid}/answer (a guest or the host) → GuestQuestionAnswered."""
    await _question(stores, gathering_id, question_id)
    g = await stores.gatherings.get(gathering_id)
    at = now()
    saved = await stores.questions.change(question_id, lambda q: q.answer_by(g, user, cmd.body, at))
    return question_view(saved.aggregate)


async def list_questions(
    stores: Stores, gathering_id: str, sort: str, limit: int, cursor: str | None
) -> QuestionPage:
    """GET /gatherings/{id}/questions?sort=top|new over the (gathering, sort, _id) index."""
    await stores.gatherings.get(gathering_id)
    docs, nxt = await page(
        stores.db.questions,
        {"gathering_id": gathering_id},
        sort="votes" if sort == "top" else "created_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "idem": 0, "voters": 0},
    )
    return QuestionPage(items=[question_view(to_question(d)) for d in docs], next_cursor=nxt)
