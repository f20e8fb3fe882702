"""The domain objects without any server: Escalation (state machine), Thread, Post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from communitykit.auth import Principal
from forum.domain.commands import CreateThread, EditPost
from forum.domain.errors import ConflictError, InvalidCommandError, NotAllowedError
from forum.domain.escalation import TRANSITIONS, Escalation
from forum.domain.post import Post
from forum.domain.thread import Thread

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ASKER = Principal("asker")
PEER = Principal("peer")
SUPPORT = Principal("sup", roles=frozenset({"member", "support"}))
MOD = Principal("mod", roles=frozenset({"member", "moderator"}))


def names(events: list[object]) -> list[str]:
    return [e.data.event_name for e in events]  # type: ignore[attr-defined]


def question(**kw: object) -> Thread:
    t = Thread(id="t1", kind="question", author_id="asker", created_at=T0, opening_post_id="p0")
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def replies_seen(
    t: Thread,
    *,
    support: str | None = None,
    at: datetime = T0,
    deleted: frozenset[str] = frozenset(),
) -> list[object]:
    """What the thread projection tells the thread (projections/threads.py)."""
    return t.observe_replies(  # type: ignore[return-value]
        others_live=True,
        support_reply_at=at if support else None,
        support_author_id=support,
        deleted_post_ids=deleted,
        at=at,
    )


def a_reply(author: str = "peer", pid: str = "p1", **kw: object) -> Post:
    return Post(id=pid, thread_id="t1", parent_post_id="p0", kind="reply", author_id=author, **kw)  # type: ignore[arg-type]


def opening() -> Post:
    return Post(id="p0", thread_id="t1", parent_post_id=None, kind="question", author_id="asker")


# ---- Escalation: the state machine ----


def test_escalation_lifecycle_follows_the_transitions() -> None:
    e = Escalation.start("requested", T0)
    assert (e.state, e.round, e.pending) == ("open", 1, True)
    e = e.acknowledge("sup", T0)
    assert (e.state, e.acknowledged_by, e.pending) == ("acknowledged", "sup", True)
    e = e.resolve("answered_by_support", "sup", T0)
    assert (e.state, e.resolution, e.pending) == ("resolved", "answered_by_support", False)
    e2 = e.reopen(T0 + timedelta(hours=1))
    assert (e2.state, e2.round, e2.acknowledged_by, e2.resolution) == ("open", 2, None, None)
    assert e2.escalated_at == T0 and e2.queued_at == T0 + timedelta(hours=1)
    c = e.confirm()
    assert c.confirmed and c.state == "resolved"
    with pytest.raises(ConflictError):
        c.reopen(T0)  # a confirmed resolution is final for "did not help"
    assert c.reopen(T0, confirmed_ok=True).state == "open"  # the question is back in play


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("open", "reopen"),
        ("open", "confirm"),
        ("acknowledged", "acknowledge"),
        ("acknowledged", "reopen"),
        ("resolved", "acknowledge"),
        ("resolved", "resolve"),
    ],
)
def test_escalation_refuses_moves_outside_the_table(state: str, action: str) -> None:
    assert (state, action) not in TRANSITIONS
    e = Escalation(state=state, reason="unanswered", escalated_at=T0, queued_at=T0)  # type: ignore[arg-type]
    call = {
        "acknowledge": lambda: e.acknowledge("x", T0),
        "resolve": lambda: e.resolve("closed", "x", T0),
        "reopen": lambda: e.reopen(T0),
        "confirm": e.confirm,
    }[action]
    with pytest.raises(ConflictError):
        call()


# ---- Thread ----


def test_accept_resolves_a_pending_escalation_and_unaccept_puts_it_back_in_play() -> None:
    t = question(has_other_reply=True)
    assert names(t.request_escalation(ASKER, T0)) == ["QuestionEscalated"]
    assert t.status == "escalated"
    t.acknowledge(SUPPORT, T0)
    events = t.accept(ASKER, a_reply(), T0)
    assert names(events) == ["AnswerAccepted", "EscalationResolved"]
    assert events[1].data.resolution == "answered_by_community"
    assert t.status == "solved" and t.escalation is not None and t.escalation.state == "resolved"
    assert t.accept(ASKER, a_reply(), T0) == []  # idempotent
    with pytest.raises(ConflictError):
        t.request_escalation(ASKER, T0)  # solved
    assert names(t.unaccept(ASKER, T0)) == ["AnswerUnaccepted"]
    assert t.status == "answered" and t.accepted_post_id is None
    assert names(t.request_escalation(ASKER, T0)) == ["EscalationReopened"]
    assert t.status == "escalated" and t.escalation.round == 2  # type: ignore[union-attr]
    with pytest.raises(ConflictError):
        t.request_escalation(ASKER, T0)  # already pending


def test_accept_checks_the_asker_and_the_answer() -> None:
    t = question()
    with pytest.raises(NotAllowedError):
        t.accept(PEER, a_reply(), T0)
    for bad in (None, opening(), a_reply(hidden=True), a_reply(deleted=True)):
        with pytest.raises(InvalidCommandError):
            t.accept(ASKER, bad, T0)
    other = a_reply()
    other.thread_id = "t2"
    with pytest.raises(InvalidCommandError):
        t.accept(ASKER, other, T0)
    d = question(kind="discussion")
    with pytest.raises(ConflictError):
        d.accept(ASKER, a_reply(), T0)


def test_accepting_own_reply_closes_and_changing_the_answer_unaccepts_first() -> None:
    t = question()
    t.request_escalation(ASKER, T0)
    events = t.accept(ASKER, a_reply("asker", "own"), T0)
    assert events[-1].data.resolution == "closed"
    events = t.accept(ASKER, a_reply(), T0)
    assert names(events) == ["AnswerUnaccepted", "AnswerAccepted"]


def test_support_reply_resolves_and_protects_the_question() -> None:
    t = question()
    t.escalate_unanswered(T0)
    events = replies_seen(t, support="sup")
    assert names(events) == ["EscalationResolved"]
    assert events[0].data.resolution == "answered_by_support"
    assert t.status == "answered" and t.support_replied
    with pytest.raises(NotAllowedError, match="support"):
        t.remove(ASKER, opening(), T0)
    assert names(t.remove(MOD, opening(), T0)) == ["PostDeleted"]  # nothing pending to end
    assert t.status == "deleted" and t.remove(MOD, opening(), T0) == []


def test_a_peer_or_own_reply_does_not_resolve() -> None:
    t = question()
    t.request_escalation(ASKER, T0)
    assert replies_seen(t) == []
    assert replies_seen(t, support="asker") == []
    assert t.status == "escalated"


def test_a_support_reply_resolves_only_the_round_it_was_written_in() -> None:
    """Redelivered to the projection after the asker reopened, an old support reply must
    not resolve the new round (the command is idempotent by the reply's time)."""
    t = question()
    t.request_escalation(ASKER, T0)
    assert names(replies_seen(t, support="sup", at=T0 + timedelta(seconds=1))) == [
        "EscalationResolved"
    ]
    t.reopen(ASKER, "did not help", T0 + timedelta(seconds=5))
    assert replies_seen(t, support="sup", at=T0 + timedelta(seconds=1)) == []  # redelivered
    assert t.status == "escalated"
    assert names(replies_seen(t, support="sup", at=T0 + timedelta(seconds=9))) == [
        "EscalationResolved"
    ]


def test_observing_replies_sets_the_flags_it_saw() -> None:
    t = question()
    t.accept(ASKER, a_reply(), T0)
    assert t.unanswered_since is None and t.status == "solved"
    assert replies_seen(t, deleted=frozenset({"p1"})) == []  # the accepted answer deleted
    assert t.accepted_post_id is None and t.status == "answered"
    t.observe_replies(
        others_live=False,
        support_reply_at=None,
        support_author_id=None,
        deleted_post_ids=frozenset(),
        at=T0,
    )
    assert t.status == "open" and t.unanswered_since == T0  # the sweep's clock again


def test_removal_rules_and_every_end_publishes_resolved() -> None:
    t = question()
    t.request_escalation(ASKER, T0)
    with pytest.raises(NotAllowedError, match="escalated"):
        t.remove(ASKER, opening(), T0)
    with pytest.raises(NotAllowedError):
        t.remove(PEER, opening(), T0)
    events = t.remove(MOD, opening(), T0)
    assert names(events) == ["PostDeleted", "EscalationResolved"]
    assert events[1].data.resolution == "closed"
    # an unprotected question, or a discussion, its author may remove
    assert names(question(has_other_reply=True).remove(ASKER, opening(), T0)) == ["PostDeleted"]
    t2 = question()
    t2.accept(ASKER, a_reply(), T0)
    with pytest.raises(NotAllowedError, match="accepted"):
        t2.remove(ASKER, opening(), T0)


def test_confirm_ends_a_waiting_escalation_or_confirms_a_resolution() -> None:
    t = question()
    t.request_escalation(ASKER, T0)
    events = t.confirm(ASKER, T0)
    assert names(events) == ["EscalationResolved"] and events[0].data.resolution == "closed"
    assert t.status == "open" and t.escalation.confirmed  # type: ignore[union-attr]
    with pytest.raises(ConflictError):
        t.reopen(ASKER, "no", T0)
    t2 = question(has_other_reply=True)
    t2.request_escalation(ASKER, T0)
    assert t2.confirm(ASKER, T0)[0].data.resolution == "answered_by_community"
    with pytest.raises(NotAllowedError):
        t2.confirm(PEER, T0)


def test_acknowledge_is_for_support_and_idempotent() -> None:
    t = question()
    with pytest.raises(ConflictError):
        t.acknowledge(SUPPORT, T0)  # nothing escalated
    t.request_escalation(ASKER, T0)
    with pytest.raises(NotAllowedError):
        t.acknowledge(ASKER, T0)
    assert names(t.acknowledge(SUPPORT, T0)) == ["EscalationAcknowledged"]
    assert t.acknowledge(SUPPORT, T0) == []
    assert t.status == "escalated"


def test_once_per_round_event_ids() -> None:
    t = question()
    (esc,) = t.request_escalation(ASKER, T0)
    assert esc.id == question().request_escalation(ASKER, T0)[0].id  # deterministic
    (r1,) = replies_seen(t, support="sup")
    t.reopen(ASKER, "again", T0)
    (r2,) = replies_seen(t, support="sup")
    assert r1.id != r2.id


def test_auto_escalation_once_and_only_when_unanswered() -> None:
    assert names(question().escalate_unanswered(T0)) == ["QuestionEscalated"]
    assert question(has_other_reply=True).escalate_unanswered(T0) == []
    assert question(kind="discussion").escalate_unanswered(T0) == []
    t = question()
    t.escalate_unanswered(T0)
    t.confirm(ASKER, T0)
    assert t.status == "open" and t.escalate_unanswered(T0) == []  # never twice


def test_repository_shape_only_changed_fields() -> None:
    t = question()
    before = t.to_doc()
    t.request_escalation(ASKER, T0)
    changed = {k for k, v in t.to_doc().items() if before.get(k) != v}
    assert "status" in changed and "escalation_state" in changed
    assert "accepted_post_id" not in changed
    assert (
        Thread.from_doc(
            {"_id": "x", "kind": "question", "author_id": "a", "created_at": T0}
        ).escalation
        is None
    )


# ---- Post ----


def test_post_edit_rules() -> None:
    p = a_reply()
    with pytest.raises(NotAllowedError):
        p.edit(ASKER, {"body": "x"}, T0)
    with pytest.raises(ConflictError, match="only an opening post"):  # a 409, not a 422
        p.edit(PEER, {"title": "x"}, T0)
    changed, events = p.edit(MOD, {"body": "moderated"}, T0)
    assert changed == {"body": "moderated"} and names(events) == ["PostEdited"]
    assert p.edit(PEER, {"body": "moderated"}, T0) == ({}, [])  # nothing changed


def test_reply_targets_and_hide_restore() -> None:
    p = a_reply()
    p.check_reply_target("t1")
    with pytest.raises(InvalidCommandError, match="not a post"):
        p.check_reply_target("t2")
    assert p.hide() and not p.hide()
    with pytest.raises(InvalidCommandError, match="hidden"):
        p.check_reply_target("t1")
    with pytest.raises(NotAllowedError):
        p.check_votable(ASKER)
    assert p.restore() and not p.restore()
    p.deleted = True
    with pytest.raises(InvalidCommandError, match="deleted"):
        p.check_reply_target("t1")


# ---- commands: cross-field checks run with validation ----


def test_commands_check_themselves() -> None:
    cmd = CreateThread(kind="question", title="t", body="b", tags=["Router", "router", "Wifi"])
    assert cmd.tags == ["router", "wifi"]
    with pytest.raises(InvalidCommandError) as e:
        CreateThread(kind="review", title="t", body="b", product_id="p")
    assert e.value.field == "rating"
    with pytest.raises(InvalidCommandError):
        CreateThread(kind="question", title="t", body="b", rating=3)
    with pytest.raises(ValueError, match="'article'"):
        CreateThread.model_validate({"kind": "blog", "title": "t", "body": "b"})
    with pytest.raises(ValueError, match="extra"):
        CreateThread.model_validate({"kind": "article", "title": "t", "body": "b", "score": 9})
    assert EditPost(tags=["A", "a"]).tags == ["a"]


def test_open_starts_unanswered_and_never_escalated() -> None:
    cmd = CreateThread(kind="question", title="t", body="body", tags=["A", "a"])
    t, events = Thread.open("t9", "p9", ASKER, cmd, T0)
    assert (t.status, t.accepted_post_id, t.escalation, t.deleted) == ("open", None, None, False)
    (created,) = events
    assert created.subject == "t9" and created.actorid == "asker"
    assert (created.data.post_id, created.data.tags, created.data.body_length) == ("p9", ["a"], 4)
    assert t.to_doc()["escalation_queue"] is None
    assert t.to_doc()["unanswered_since"] == T0
