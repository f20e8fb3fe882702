"""Gatherings over HTTP on the real broker and store: schedule, read, RSVP, questions for the
guest, check-in, recap, cancel; every event on gatherings.events; bad input never a 500."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from ...recording import Recorder
from .conftest import STAFF, at, gathering_body, rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_schedule_read_rsvp_and_cancel(
    gatherings: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    url = gatherings.url
    gid = await schedule(http, url, capacity=1, join_url="https://meet.example.com/x")
    a, b = uid("a"), uid("b")
    r = await rsvp(http, url, gid, a)
    assert r.json() == {"status": "going", "position": None}
    r = await rsvp(http, url, gid, b)
    assert r.json() == {"status": "waitlisted", "position": 1}
    view = (await http.get(f"{url}/gatherings/{gid}", headers=auth(b))).json()
    assert view["seats_taken"] == 1 and view["waitlist_length"] == 1
    assert view["my_rsvp"] == {"status": "waitlisted", "position": 1, "checked_in": False}
    assert view["status"] == "upcoming"
    assert (await http.get(f"{url}/gatherings/{gid}")).json()["my_rsvp"] is None
    r = await rsvp(http, url, gid, a, "not_going")
    assert r.json() == {"status": "not_going", "position": None}
    [offer] = await recorder.wait(gid, "SeatOffered")
    assert offer.data.user_id == b and offer.data.freed_by == a
    r = await http.post(
        f"{url}/gatherings/{gid}/cancel", headers=auth(STAFF, "staff"), json={"reason": "ill"}
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    [cancelled] = await recorder.wait(gid, "GatheringCancelled")
    assert cancelled.data.going_ids == [b]
    names = [e.type.split(".")[2] for e in recorder.of(gid)]
    assert names[0] == "GatheringScheduled" and names.count("RsvpChanged") == 4
    assert recorder.errors_of(gid) == []
    r = await rsvp(http, url, gid, uid("c"))
    assert r.status_code == 409  # RSVP to a cancelled gathering


async def test_list_filters_and_cursor(gatherings: ServiceProcess, http: httpx.AsyncClient) -> None:
    url = gatherings.url
    group = uid("grp")
    ids = [
        await schedule(
            http,
            url,
            group_id=group,
            starts_at=at(days=3, hours=i),
            ends_at=at(days=3, hours=i + 1),
        )
        for i in range(3)
    ]
    r = await http.get(
        f"{url}/gatherings", params={"group_id": group, "limit": 2, "status": "upcoming"}
    )
    page1 = r.json()
    assert [g["gathering_id"] for g in page1["items"]] == ids[:2]
    r = await http.get(
        f"{url}/gatherings",
        params={
            "group_id": group,
            "limit": 2,
            "status": "upcoming",
            "cursor": page1["next_cursor"],
        },
    )
    assert [g["gathering_id"] for g in r.json()["items"]] == ids[2:]
    assert r.json()["next_cursor"] is None
    r = await http.get(f"{url}/gatherings", params={"group_id": group, "status": "past"})
    assert r.json()["items"] == []
    r = await http.get(f"{url}/gatherings", params={"cursor": "garbage"})
    assert r.status_code == 422


async def test_guest_questions_check_in_and_recap(
    gatherings: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    url = gatherings.url
    guest, member, other = uid("guest"), uid("m"), uid("o")
    # starts in a minute, ends soon after: questions before, check-in within the window
    gid = await schedule(
        http,
        url,
        starts_at=at(seconds=60),
        ends_at=at(seconds=64),
        guests=[{"user_id": guest, "display_name": "Dr Guest", "bio": "Builds things"}],
    )
    assert (await rsvp(http, url, gid, member)).json()["status"] == "going"
    r = await http.post(
        f"{url}/gatherings/{gid}/questions", headers=auth(member), json={"body": "Offline mode?"}
    )
    assert r.status_code == 201
    qid = r.json()["question_id"]
    r2 = await http.post(
        f"{url}/gatherings/{gid}/questions", headers=auth(other), json={"body": "Dark mode?"}
    )
    q2 = r2.json()["question_id"]
    assert (
        await http.put(
            f"{url}/gatherings/{gid}/questions/{qid}/vote", headers=auth(other), json={"value": 1}
        )
    ).json()["votes"] == 1
    top = (await http.get(f"{url}/gatherings/{gid}/questions", params={"sort": "top"})).json()[
        "items"
    ]
    assert [q["question_id"] for q in top] == [qid, q2]
    r = await http.post(
        f"{url}/gatherings/{gid}/questions/{qid}/answer", headers=auth(other), json={"body": "me"}
    )
    assert r.status_code == 403  # a non-guest answering
    r = await http.post(
        f"{url}/gatherings/{gid}/questions/{qid}/answer",
        headers=auth(guest),
        json={"body": "Yes, in Q2."},
    )
    assert r.status_code == 200 and r.json()["answer"]["by_guest"] is True
    [answered] = await recorder.wait(gid, "GuestQuestionAnswered")
    assert answered.data.by_guest and answered.data.question_author_id == member
    r = await http.post(f"{url}/gatherings/{gid}/check-in", headers=auth(member))
    assert r.status_code == 200, r.text
    [checked] = await recorder.wait(gid, "MemberCheckedIn")
    assert checked.data.was_going
    r = await http.put(
        f"{url}/gatherings/{gid}/recap",
        headers=auth(STAFF, "staff"),
        json={"body": "Thanks!", "takeaways": ["Q2"]},
    )
    assert r.status_code == 409  # not over yet
    view = (await http.get(f"{url}/gatherings/{gid}", headers=auth(member))).json()
    assert view["my_rsvp"]["checked_in"] is True


async def test_recap_after_the_end(
    gatherings: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    import asyncio

    url = gatherings.url
    gid = await schedule(http, url, starts_at=at(seconds=2), ends_at=at(seconds=3))
    await asyncio.sleep(3.5)
    r = await http.put(
        f"{url}/gatherings/{gid}/recap",
        headers=auth(STAFF, "staff"),
        json={"body": "What we learned", "takeaways": ["ship it", "listen"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["recap"]["takeaways"] == ["ship it", "listen"] and r.json()["status"] == "past"
    [updated] = await recorder.wait(gid, "GatheringUpdated")
    assert updated.data.fields == ["recap"]
    r = await rsvp(http, url, gid, uid("late"))
    assert r.status_code == 409  # RSVP to a past gathering


# ---------------------------------------------------------------------- bad input (item 9)
async def test_ends_before_it_starts(gatherings: ServiceProcess, http: httpx.AsyncClient) -> None:
    r = await http.post(
        f"{gatherings.url}/gatherings",
        headers=auth(STAFF, "staff"),
        json=gathering_body(starts_at=at(days=2), ends_at=at(days=1)),
    )
    assert r.status_code == 422 and r.json()["field"] == "ends_at"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unknown_timezone(gatherings: ServiceProcess, http: httpx.AsyncClient) -> None:
    r = await http.post(
        f"{gatherings.url}/gatherings",
        headers=auth(STAFF, "staff"),
        json=gathering_body(timezone="Mars/Olympus"),
    )
    assert r.status_code == 422 and r.json()["field"] == "timezone"


async def test_capacity_below_seats_taken(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    url = gatherings.url
    gid = await schedule(http, url, capacity=5)
    for u in ("x", "y", "z"):
        await rsvp(http, url, gid, uid(u))
    r = await http.patch(
        f"{url}/gatherings/{gid}", headers=auth(STAFF, "staff"), json={"capacity": 2}
    )
    assert r.status_code == 409 and r.json()["field"] == "capacity"
    r = await http.patch(
        f"{url}/gatherings/{gid}", headers=auth(STAFF, "staff"), json={"capacity": 3}
    )
    assert r.status_code == 200 and r.json()["capacity"] == 3


async def test_mass_assignment_is_refused(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    url = gatherings.url
    r = await http.post(
        f"{url}/gatherings",
        headers=auth(STAFF, "staff"),
        json=gathering_body(seats_taken=0, host_id="evil"),
    )
    assert r.status_code == 422 and r.json()["field"] in ("seats_taken", "host_id")
    gid = await schedule(http, url)
    r = await http.patch(
        f"{url}/gatherings/{gid}", headers=auth(STAFF, "staff"), json={"status": "past"}
    )
    assert r.status_code == 422 and r.json()["field"] == "status"
    r = await http.put(
        f"{url}/gatherings/{gid}/rsvp",
        headers=auth(uid("m")),
        json={"status": "going", "position": 1},
    )
    assert r.status_code == 422


async def test_operators_in_input_are_data(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    url = gatherings.url
    r = await http.get(f"{url}/gatherings", params={"group_id": '{"$ne": null}'})
    assert r.status_code == 200 and r.json()["items"] == []
    r = await http.get(f"{url}/gatherings/" + "%7B%22%24ne%22%3A1%7D")
    assert r.status_code == 404
    r = await http.put(
        f"{url}/gatherings/x/rsvp", headers=auth(uid("m")), json={"status": {"$ne": 1}}
    )
    assert r.status_code == 422


async def test_permissions(gatherings: ServiceProcess, http: httpx.AsyncClient) -> None:
    url = gatherings.url
    r = await http.post(f"{url}/gatherings", headers=auth(uid("m")), json=gathering_body())
    assert r.status_code == 403
    r = await http.post(
        f"{url}/gatherings", headers=auth(uid("m")), json=gathering_body(group_id=uid("g"))
    )
    assert r.status_code == 403 and r.json()["field"] == "group_id"
    gid = await schedule(http, url)
    r = await http.post(f"{url}/gatherings/{gid}/cancel", headers=auth(uid("m")))
    assert r.status_code == 403
    r = await http.post(f"{url}/gatherings", json=gathering_body())
    assert r.status_code == 401


async def test_bad_recurrence_and_check_in_outside_window(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    url = gatherings.url
    r = await http.post(
        f"{url}/gatherings",
        headers=auth(STAFF, "staff"),
        json=gathering_body(recurrence="FREQ=SECONDLY;COUNT=9"),
    )
    assert r.status_code == 422 and r.json()["field"] == "recurrence"
    r = await http.post(
        f"{url}/gatherings",
        headers=auth(STAFF, "staff"),
        json=gathering_body(recurrence="FREQ=WEEKLY"),
    )
    assert r.status_code == 422 and r.json()["field"] == "recurrence"
    gid = await schedule(http, url, starts_at=at(days=5), ends_at=at(days=5, hours=1))
    r = await http.post(f"{url}/gatherings/{gid}/check-in", headers=auth(uid("m")))
    assert r.status_code == 409
    r = await http.post(f"{url}/gatherings/nope/check-in", headers=auth(uid("m")))
    assert r.status_code == 404


async def test_live_and_past_are_filtered_by_the_store_query(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """status=live|past is part of the store query: every page holds ``limit`` matching
    gatherings, the cursor walks only matching ones and the last page says so."""
    import asyncio

    url = gatherings.url
    group = uid("grp")

    async def make(start: float, end: float, **extra: Any) -> str:
        return await schedule(
            http, url, group_id=group, starts_at=at(seconds=start), ends_at=at(seconds=end), **extra
        )

    past = [await make(1.5, 2.5), await make(1.6, 2.6)]
    live = [
        await make(1.7, 3600),
        # its first occurrence is over, the series is not: live
        await make(1.8, 2.8, recurrence="FREQ=DAILY;COUNT=2"),
    ]
    cancelled = await make(1.9, 3600)
    r = await http.post(f"{url}/gatherings/{cancelled}/cancel", headers=auth(STAFF, "staff"))
    assert r.status_code == 200, r.text
    upcoming = await schedule(http, url, group_id=group)
    await asyncio.sleep(3)

    async def walk(status: str) -> list[list[str]]:
        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"group_id": group, "status": status, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            body = (await http.get(f"{url}/gatherings", params=params)).json()
            pages.append([g["gathering_id"] for g in body["items"]])
            assert all(g["status"] == status for g in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return pages

    assert await walk("past") == [[p] for p in past]
    assert await walk("live") == [[g] for g in live]
    assert await walk("upcoming") == [[upcoming]]


async def test_rsvp_to_one_occurrence_of_a_series(
    gatherings: ServiceProcess, http: httpx.AsyncClient, gdb: Any
) -> None:
    url = gatherings.url
    gid = await schedule(http, url, capacity=1, recurrence="FREQ=WEEKLY;COUNT=3")
    view = (await http.get(f"{url}/gatherings/{gid}")).json()
    first = datetime.fromisoformat(view["occurrence"])
    second = (first + timedelta(days=7)).isoformat()
    a, b = uid("a"), uid("b")
    put = f"{url}/gatherings/{gid}/rsvp"
    r = await http.put(put, headers=auth(a), json={"status": "going", "occurrence": second})
    assert r.json() == {"status": "going", "position": None}
    # each occurrence has its own seats: b gets the first one's, waits for the second one
    assert (await rsvp(http, url, gid, b)).json() == {"status": "going", "position": None}
    r = await http.put(put, headers=auth(b), json={"status": "going", "occurrence": second})
    assert r.json() == {"status": "waitlisted", "position": 1}
    r = await http.put(put, headers=auth(b), json={"status": "going", "occurrence": at(days=30)})
    assert r.status_code == 422 and "occurrence" in r.text
    mine = (await http.get(f"{url}/gatherings/{gid}", headers=auth(a))).json()
    assert mine["my_rsvp"]["status"] == "none" and mine["seats_taken"] == 1
    mine = (
        await http.get(f"{url}/gatherings/{gid}", params={"occurrence": second}, headers=auth(b))
    ).json()
    assert mine["my_rsvp"] == {"status": "waitlisted", "position": 1, "checked_in": False}
    assert (mine["seats_taken"], mine["waitlist_length"]) == (1, 1)
    # a leaves the second occurrence: b is promoted there, once
    r = await http.put(put, headers=auth(a), json={"status": "not_going", "occurrence": second})
    assert r.json() == {"status": "not_going", "position": None}

    async def records() -> list[Any] | None:
        rows = await gdb.rsvps.find({"gathering_id": gid}).sort("_id").to_list(None)
        return rows if sum(r["sequence"] for r in rows) == 5 else None

    rows = await eventually(records)
    first_occ = str(int(first.timestamp()))
    assert sorted((r["user_id"] == a, r["occ"] == first_occ, r["status"]) for r in rows) == [
        (False, False, "going"),
        (False, True, "going"),
        (True, False, "not_going"),
    ]
