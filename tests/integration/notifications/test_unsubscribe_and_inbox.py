"""The RFC 8058 one-click link of a received email, followed as a mail client follows it
(POST), stops that kind; forged or another member's tokens are 4xx. The inbox: read one,
read all, unread counts; bad input is 4xx naming the field."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from schemas import new_event, topics
from schemas.reputation import BadgeAwarded

from ...conftest import ServiceProcess, auth, eventually
from ...servers import Servers, Smtp
from .conftest import mails_to, produce, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def badge(member: str, name: str) -> Any:
    return new_event(
        BadgeAwarded(user_id=member, badge=name, source_event_id=uid("e")), subject=member
    )


async def test_the_one_click_unsubscribe_link_stops_that_kind(
    servers: Servers,
    service: ServiceProcess,
    mail: Smtp,
    db: AsyncDatabase[Any],
    http: httpx.AsyncClient,
) -> None:
    member, other = uid("member"), uid("other")
    await produce(servers.kafka, [badge(member, "helper")], topics.REPUTATION_EVENTS)

    async def got_mail() -> list[Any] | None:
        return mails_to(mail, member, "badge") or None

    msg = (await eventually(got_mail, timeout=60))[0]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.+)>", msg["List-Unsubscribe"])
    assert link is not None
    url = link[1]
    assert url.startswith(f"{service.url}/unsubscribe?token=")
    assert msg.get_body(preferencelist=("html",)) is not None
    one_click = {
        "content": "List-Unsubscribe=One-Click",
        "headers": {"content-type": "application/x-www-form-urlencoded"},
    }

    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    r = await http.post(forged, **one_click)  # type: ignore[arg-type]
    assert r.status_code == 403 and r.json()["field"] == "token"
    # a member signed in who follows someone else's link
    r = await http.post(
        url,
        headers={**one_click["headers"], **auth(other)},  # type: ignore[dict-item]
        content=one_click["content"],
    )
    assert r.status_code == 403
    # a GET (a link scanner) never unsubscribes
    assert (await http.get(url)).status_code == 200
    r = await http.post(url, **one_click)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    assert r.json() == {"member": member, "kind": "badge", "unsubscribed": True}
    prefs = (await http.get(f"{service.url}/me/preferences", headers=auth(member))).json()
    assert prefs["unsubscribed"] == ["badge"]

    second = badge(member, "teacher")
    await produce(servers.kafka, [second], topics.REPUTATION_EVENTS)

    async def decided() -> dict[str, Any] | None:
        return await db.notifications.find_one({"recipient": member, "source_event_id": second.id})

    note = await eventually(decided, timeout=60)
    assert "email" not in note.get("channels", []) and note["email"] == "none"
    await asyncio.sleep(2)
    assert len(mails_to(mail, member, "badge")) == 1


async def test_inbox_read_one_read_all_and_unread_counts(
    servers: Servers, service: ServiceProcess, http: httpx.AsyncClient
) -> None:
    member, intruder = uid("reader"), uid("intruder")
    await produce(servers.kafka, [badge(member, "a"), badge(member, "b")], topics.REPUTATION_EVENTS)

    async def inbox() -> dict[str, Any] | None:
        page = (await http.get(f"{service.url}/me/notifications", headers=auth(member))).json()
        return page if page["unread"] >= 1 else None

    page = await eventually(inbox, timeout=60)
    entry = page["items"][0]["id"]
    r = await http.post(f"{service.url}/me/notifications/{entry}/read", headers=auth(intruder))
    assert r.status_code == 404
    r = await http.post(f"{service.url}/me/notifications/{entry}/read", headers=auth(member))
    assert r.status_code == 200
    page = (await http.get(f"{service.url}/me/notifications", headers=auth(member))).json()
    assert page["unread"] == 0 and page["items"][0]["read"] is True
    await produce(servers.kafka, [badge(member, "c")], topics.REPUTATION_EVENTS)
    await eventually(inbox, timeout=60)
    r = await http.post(f"{service.url}/me/notifications/read-all", headers=auth(member))
    assert r.status_code == 200
    page = (await http.get(f"{service.url}/me/notifications", headers=auth(member))).json()
    assert page["unread"] == 0 and all(e["read"] for e in page["items"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("PUT", "/me/follows/planet/x", {"level": "watching"}, 422, "scope"),
        ("PUT", "/me/follows/thread/x", {"level": "obsessed"}, 422, "level"),
        ("PUT", "/me/follows/thread/x", {"level": "muted", "admin": True}, 422, "admin"),
        ("PUT", "/me/preferences", {"caps": {"email_per_week": -1}}, 422, "caps.email_per_week"),
        ("PUT", "/me/preferences", {"caps": {"push_per_day": -3}}, 422, "caps.push_per_day"),
        (
            "PUT",
            "/me/preferences",
            {"quiet_hours": {"start": "25:00", "end": "07:00"}},
            422,
            "quiet_hours.start",
        ),
        (
            "PUT",
            "/me/preferences",
            {"quiet_hours": {"start": "22:00", "end": "noon"}},
            422,
            "quiet_hours.end",
        ),
        ("PUT", "/me/preferences", {"timezone": "Mars/Base"}, 422, "timezone"),
        ("PUT", "/me/preferences", {"preset": "loud"}, 422, "preset"),
        ("PUT", "/me/preferences", {"unsubscribed": ["spam"]}, 422, "unsubscribed.0"),
        ("POST", "/unsubscribe?token=not-a-token", None, 403, "token"),
        ("GET", "/me/notifications?cursor=garbage", None, 422, "cursor"),
    ],
)
async def test_bad_input_is_a_clear_4xx_naming_the_field(
    service: ServiceProcess,
    http: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    field: str,
) -> None:
    r = await http.request(method, f"{service.url}{path}", json=body, headers=auth(uid("bad")))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
