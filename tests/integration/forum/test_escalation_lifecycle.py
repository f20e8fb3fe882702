"""The escalation lifecycle and who may remove a question (issue 11, gaps 1-3), over HTTP
against the real broker and store: open → acknowledged → resolved, reopen and confirm by the
asker, every way an escalation ends publishes EscalationResolved, and an unaccepted answer
puts the question back in play."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid
from .test_threads import new_thread, reply, settled

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def post(http: httpx.AsyncClient, url: str, user: str, *roles: str, **kw: Any) -> Any:
    return await http.post(url, headers=auth(user, *roles), **kw)


async def queue(http: httpx.AsyncClient, url: str, status: str) -> dict[str, dict[str, Any]]:
    r = await http.get(
        f"{url}/escalations",
        params={"status": status, "limit": 100},
        headers=auth(uid("support"), "support"),
    )
    assert r.status_code == 200, r.text
    return {x["thread_id"]: x for x in r.json()["items"]}


async def test_acknowledge_then_resolve_then_reopen_then_confirm(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    """Gap 3: support acknowledges without resolving; the asker sees it; reopen; confirm."""
    url = forum.url
    asker, support, peer = uid("asker"), uid("support"), uid("peer")
    q = (await new_thread(http, url, asker))["thread_id"]
    t = f"{url}/threads/{q}"
    # nothing to acknowledge yet
    assert (await post(http, f"{t}/escalation/acknowledge", support, "support")).status_code == 409
    r = await post(http, f"{t}/escalate", asker)
    assert r.status_code == 200 and r.json()["escalation"]["state"] == "open", r.text

    # only support/staff acknowledge; the asker sees the state on the thread
    assert (await post(http, f"{t}/escalation/acknowledge", peer)).status_code == 403
    r = await post(http, f"{t}/escalation/acknowledge", support, "support")
    assert r.status_code == 200, r.text
    again = await post(http, f"{t}/escalation/acknowledge", support, "support")
    assert again.status_code == 200  # idempotent, no second event
    got = (await http.get(t)).json()
    assert got["status"] == "escalated"
    assert got["escalation"]["state"] == "acknowledged"
    assert got["escalation"]["acknowledged_by"] == support
    # "open" is the queue (open and acknowledged); "acknowledged" narrows it
    assert q in await queue(http, url, "open")
    assert (await queue(http, url, "acknowledged"))[q]["state"] == "acknowledged"
    (ack,) = await recorder.wait(q, "EscalationAcknowledged")
    assert ack.data.acknowledged_by == support

    # the asker cannot reopen what is not resolved
    assert (await post(http, f"{t}/escalation/reopen", asker, json={})).status_code == 409
    # a support reply resolves it; the answer stays in the community
    await reply(http, url, q, support, "support", body="support answer")
    (res1,) = await recorder.wait(q, "EscalationResolved")
    assert res1.data.resolution == "answered_by_support"
    got = await settled(http, url, q, reply_count=1)
    assert got["status"] == "answered" and got["escalation"]["state"] == "resolved"
    assert q in await queue(http, url, "resolved") and q not in await queue(http, url, "open")

    # the asker reopens it: back in the queue for a second round (only the asker may)
    r = await post(http, f"{t}/escalation/reopen", peer, json={"reason": "no"})
    assert r.status_code == 403
    r = await post(http, f"{t}/escalation/reopen", asker, json={"reason": "still blinking"})
    assert r.status_code == 200 and r.json()["escalation"]["round"] == 2, r.text
    (reo,) = await recorder.wait(q, "EscalationReopened")
    assert (reo.data.reopened_by, reo.data.reason) == (asker, "still blinking")
    assert (await http.get(t)).json()["status"] == "escalated"
    assert (await queue(http, url, "open"))[q]["state"] == "open"
    # acknowledged again in round 2 (a distinct event), then a second support reply resolves
    assert (await post(http, f"{t}/escalation/acknowledge", support, "staff")).status_code == 200
    await recorder.wait(q, "EscalationAcknowledged", 2)
    await reply(http, url, q, support, "support", body="firmware 2.1 fixes it")
    resolved = await recorder.wait(q, "EscalationResolved", 2)
    assert [e.data.resolution for e in resolved] == ["answered_by_support"] * 2
    assert resolved[0].id != resolved[1].id

    # the asker confirms: final, a reopen is refused from now on
    r = await post(http, f"{t}/escalation/confirm", asker)
    assert r.status_code == 200 and r.json()["escalation"]["confirmed"] is True, r.text
    assert (await post(http, f"{t}/escalation/reopen", asker)).status_code == 409  # no body
    assert len(recorder.of(q, "EscalationReopened")) == 1


async def test_every_way_an_escalation_ends_publishes_resolved(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    """Gap 1: the asker ends it (closed: nobody answered), a moderator removes the question
    (closed), an accepted answer (answered_by_community)."""
    url = forum.url
    asker, peer, mod = uid("asker"), uid("peer"), uid("mod")

    # the asker ends an escalation nobody answered: closed
    q1 = (await new_thread(http, url, asker))["thread_id"]
    assert (await post(http, f"{url}/threads/{q1}/escalate", asker)).status_code == 200
    r = await post(http, f"{url}/threads/{q1}/escalation/confirm", asker)
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    (e1,) = await recorder.wait(q1, "EscalationResolved")
    assert (e1.data.resolution, e1.data.resolved_by) == ("closed", asker)

    # the asker cannot remove an escalated question; a moderator can, and that ends it
    t2 = await new_thread(http, url, asker)
    q2 = t2["thread_id"]
    assert (await post(http, f"{url}/threads/{q2}/escalate", asker)).status_code == 200
    r = await http.delete(f"{url}/posts/{t2['post_id']}", headers=auth(asker))
    assert r.status_code == 403 and "moderator" in r.json()["detail"], r.text
    assert (await http.get(f"{url}/threads/{q2}")).status_code == 200
    r = await http.delete(f"{url}/posts/{t2['post_id']}", headers=auth(mod, "moderator"))
    assert r.status_code == 204
    assert (await http.get(f"{url}/threads/{q2}")).status_code == 404
    (e2,) = await recorder.wait(q2, "EscalationResolved")
    assert (e2.data.resolution, e2.data.resolved_by) == ("closed", mod)
    (d2,) = await recorder.wait(q2, "PostDeleted")
    assert (d2.data.post_id, d2.data.deleted_by, d2.data.kind) == (t2["post_id"], mod, "question")
    assert q2 not in await queue(http, url, "open")
    # a repeated DELETE is harmless (no second event)
    r = await http.delete(f"{url}/posts/{t2['post_id']}", headers=auth(mod, "moderator"))
    assert r.status_code == 404

    # an accepted answer or a support reply protects the question too
    t3 = await new_thread(http, url, asker)
    p3 = await reply(http, url, t3["thread_id"], peer)
    r = await http.put(
        f"{url}/threads/{t3['thread_id']}/accepted-answer",
        headers=auth(asker),
        json={"post_id": p3},
    )
    assert r.status_code == 200
    r = await http.delete(f"{url}/posts/{t3['post_id']}", headers=auth(asker))
    assert r.status_code == 403 and "accepted answer" in r.json()["detail"]
    t4 = await new_thread(http, url, asker)
    await reply(http, url, t4["thread_id"], uid("support"), "support")
    r = await http.delete(f"{url}/posts/{t4['post_id']}", headers=auth(asker))
    assert r.status_code == 403 and "support" in r.json()["detail"]
    # a discussion, or a question nobody helped with, the author may still remove
    t5 = await new_thread(http, url, asker)
    await reply(http, url, t5["thread_id"], peer)
    assert (
        await http.delete(f"{url}/posts/{t5['post_id']}", headers=auth(asker))
    ).status_code == 204
    assert recorder.of(t5["thread_id"], "EscalationResolved") == []


async def test_unaccept_puts_the_question_back_in_play(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    """Gap 2: after an unaccept the question is unanswered (or answered) again, back in the
    lists, and the asker may escalate again."""
    url = forum.url
    asker, peer = uid("asker"), uid("peer")

    # the asker's own reply accepted (closed), then unaccepted: unanswered again
    q = (await new_thread(http, url, asker))["thread_id"]
    own = await reply(http, url, q, asker, body="found it myself")
    assert (await post(http, f"{url}/threads/{q}/escalate", asker)).status_code == 200
    acc = f"{url}/threads/{q}/accepted-answer"
    assert (await http.put(acc, headers=auth(asker), json={"post_id": own})).status_code == 200
    (r1,) = await recorder.wait(q, "EscalationResolved")
    assert r1.data.resolution == "closed"
    assert (await http.get(f"{url}/threads/{q}")).json()["status"] == "solved"
    assert (await post(http, f"{url}/threads/{q}/escalate", asker)).status_code == 409  # solved
    assert (await http.delete(acc, headers=auth(asker))).status_code == 200
    got = (await http.get(f"{url}/threads/{q}")).json()
    assert got["status"] == "open" and got["accepted_post_id"] is None

    async def unanswered_again() -> bool:  # the list is a read model, a batch behind
        r = await http.get(f"{url}/threads", params={"status": "unanswered", "limit": 100})
        return q in {x["thread_id"] for x in r.json()["items"]}

    await eventually(unanswered_again, timeout=15, interval=0.1)
    # escalate again: the same escalation reopens (one ticket per question)
    r = await post(http, f"{url}/threads/{q}/escalate", asker)
    assert r.status_code == 200 and r.json()["status"] == "escalated", r.text
    (reo,) = await recorder.wait(q, "EscalationReopened")
    assert reo.data.reopened_by == asker
    assert len(recorder.of(q, "QuestionEscalated")) == 1
    assert (await post(http, f"{url}/threads/{q}/escalate", asker)).status_code == 409  # pending

    # a peer's answer unaccepted: answered (someone else replied), never escalated: escalate
    q2 = (await new_thread(http, url, asker))["thread_id"]
    p = await reply(http, url, q2, peer)
    acc2 = f"{url}/threads/{q2}/accepted-answer"
    assert (await http.put(acc2, headers=auth(asker), json={"post_id": p})).status_code == 200
    assert (await http.delete(acc2, headers=auth(asker))).status_code == 200
    assert (await settled(http, url, q2, reply_count=1))["status"] == "answered"
    assert (await post(http, f"{url}/threads/{q2}/escalate", asker)).status_code == 200
    (esc,) = await recorder.wait(q2, "QuestionEscalated")
    assert esc.data.reason == "requested"
