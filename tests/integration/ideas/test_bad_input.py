"""Bad input: 401/403/404/409/422 problem+json naming the field, operators stored as text,
never a 500, never a partial write."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from .conftest import IDEA, STAFF, Recorder, submit, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BAD_IDEAS = [
    ({**IDEA, "votes": 1000}, "votes"),  # mass assignment
    ({**IDEA, "status": "completed"}, "status"),
    ({**IDEA, "author_id": "someone-else"}, "author_id"),
    ({**IDEA, "merged_into": "x"}, "merged_into"),
    ({**IDEA, "title": ""}, "title"),
    ({**IDEA, "title": "   "}, "title"),
    ({**IDEA, "title": "t" * 201}, "title"),
    ({**IDEA, "title": {"$ne": ""}}, "title"),
    ({**IDEA, "title": 5}, "title"),
    ({**IDEA, "description": ""}, "description"),
    ({**IDEA, "description": "d" * 20_001}, "description"),
    ({**IDEA, "category": ""}, "category"),
    ({**IDEA, "category": ["a"]}, "category"),
    ({**IDEA, "product_area": "p" * 61}, "product_area"),
    ({k: v for k, v in IDEA.items() if k != "title"}, "title"),
    ({k: v for k, v in IDEA.items() if k != "product_area"}, "product_area"),
]


def problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = r.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize(("body", "field"), BAD_IDEAS)
async def test_bad_ideas(
    ideas: ServiceProcess, http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await http.post(f"{ideas.url}/ideas", headers=auth(uid("bad")), json=body)
    assert problem(r, 422)["field"] == field


async def test_not_json_and_wrong_shapes(ideas: ServiceProcess, http: httpx.AsyncClient) -> None:
    h = {**auth(uid("bad")), "content-type": "application/json"}
    for raw in (b"{", b"[]", b"null", b'"x"', b"\xff\xfe"):
        r = await http.post(f"{ideas.url}/ideas", headers=h, content=raw)
        problem(r, 422)


async def test_bad_writes_on_an_existing_idea(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    author = uid("author")
    iid = await submit(http, ideas.url, author)
    voter = uid("voter")
    staff = auth(STAFF, "staff")
    cases = [
        ("put", "vote", auth(voter), {"value": 2}, "value"),
        ("put", "vote", auth(voter), {"value": -1}, "value"),  # no down-votes on ideas
        ("put", "vote", auth(voter), {"value": "1"}, "value"),
        ("put", "vote", auth(voter), {}, "value"),
        ("put", "vote", auth(voter), {"value": 1, "votes": 50}, "votes"),
        ("put", "vote", auth(voter), {"value": 1, "voter_id": "x"}, "voter_id"),
        ("put", "status", staff, {"status": "shipped"}, "status"),
        ("put", "status", staff, {"status": {"$ne": "new"}}, "status"),
        ("put", "status", staff, {"status": "planned", "note": "n" * 2001}, "note"),
        ("put", "status", staff, {"status": "planned", "changed_by": "x"}, "changed_by"),
        ("post", "merge", staff, {}, "into_idea_id"),
        ("post", "merge", staff, {"into_idea_id": ""}, "into_idea_id"),
        ("post", "merge", staff, {"into_idea_id": {"$gt": ""}}, "into_idea_id"),
        ("post", "merge", staff, {"into_idea_id": iid, "moved_votes": 9}, "moved_votes"),
        ("post", "comments", auth(voter), {"body": ""}, "body"),
        ("post", "comments", auth(voter), {"body": "x" * 20_001}, "body"),
        ("post", "comments", auth(voter), {"body": "x", "author_id": "y"}, "author_id"),
    ]
    for method, path, headers, body, field in cases:
        r = await http.request(
            method, f"{ideas.url}/ideas/{iid}/{path}", headers=headers, json=body
        )
        assert problem(r, 422)["field"] == field, (path, body, r.text)
    # nothing was written
    got = (await http.get(f"{ideas.url}/ideas/{iid}")).json()
    assert (got["votes"], got["status"], got["comment_count"]) == (0, "new", 0)
    assert recorder.of(iid, "VoteCast") == [] and recorder.of(iid, "IdeaStatusChanged") == []


async def test_auth(ideas: ServiceProcess, http: httpx.AsyncClient) -> None:
    iid = await submit(http, ideas.url, uid("author"))
    writes = [
        ("post", "/ideas", IDEA),
        ("put", f"/ideas/{iid}/vote", {"value": 1}),
        ("put", f"/ideas/{iid}/status", {"status": "planned"}),
        ("post", f"/ideas/{iid}/merge", {"into_idea_id": "x"}),
        ("post", f"/ideas/{iid}/comments", {"body": "x"}),
    ]
    bad_tokens = [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer " + auth("x")["Authorization"].split()[1][:-3] + "abc"},
    ]
    for method, path, body in writes:
        for headers in bad_tokens:
            r = await http.request(method, ideas.url + path, headers=headers, json=body)
            problem(r, 401)
            assert r.headers["www-authenticate"] == "Bearer"
    # a token is optional on reads, but a bad one is still refused
    assert (await http.get(f"{ideas.url}/ideas/{iid}")).status_code == 200
    problem(await http.get(f"{ideas.url}/ideas/{iid}", headers=bad_tokens[1]), 401)


async def test_unknown_ids_are_404(ideas: ServiceProcess, http: httpx.AsyncClient) -> None:
    h, staff = auth(uid("me")), auth(STAFF, "staff")
    for method, path, headers, body in [
        ("get", "/ideas/nope", {}, None),
        ("get", "/ideas/%24where", {}, None),
        ("get", "/ideas/nope/comments", {}, None),
        ("put", "/ideas/nope/vote", h, {"value": 1}),
        ("put", "/ideas/nope/status", staff, {"status": "planned"}),
        ("post", "/ideas/nope/merge", staff, {"into_idea_id": "also-nope"}),
        ("post", "/ideas/nope/comments", h, {"body": "x"}),
    ]:
        r = await http.request(method, ideas.url + path, headers=headers, json=body)
        problem(r, 404)
    problem(await http.get(f"{ideas.url}/nothing-here"), 404)
    problem(await http.delete(f"{ideas.url}/ideas/nope"), 405)


async def test_bad_query_parameters(ideas: ServiceProcess, http: httpx.AsyncClient) -> None:
    for params, field in [
        ({"sort": "hot"}, "sort"),
        ({"status": "shipped"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "W3siJGd0IjoiIn0sIngiXQ"}, "cursor"),  # [{"$gt": ""}, "x"]
        ({"cursor": "x" * 1001}, "cursor"),
        ({"category": ""}, "category"),
    ]:
        r = await http.get(f"{ideas.url}/ideas", params=params)
        assert problem(r, 422)["field"] == field, (params, r.text)
    iid = await submit(http, ideas.url, uid("author"))
    r = await http.get(f"{ideas.url}/ideas/{iid}/comments", params={"cursor": "e30"})
    assert problem(r, 422)["field"] == "cursor"
    # an operator as a filter value is data: it matches nothing
    r = await http.get(f"{ideas.url}/ideas", params={"category": '{"$ne": null}'})
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


async def test_a_cursor_is_bound_to_its_sort_and_filters(
    ideas: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """A next_cursor reused with another sort, filter or list is refused, never misread."""
    cat = f"bound-{uid('c')}"
    for i in range(3):
        await submit(http, ideas.url, uid("author"), category=cat, title=f"bound {i}")
    r = await http.get(f"{ideas.url}/ideas", params={"category": cat, "sort": "new", "limit": 1})
    cursor = r.json()["next_cursor"]
    assert r.status_code == 200 and cursor
    ok = await http.get(
        f"{ideas.url}/ideas", params={"category": cat, "sort": "new", "cursor": cursor}
    )
    assert ok.status_code == 200 and len(ok.json()["items"]) == 2
    for params in [
        {"category": cat, "sort": "top"},
        {"category": cat, "sort": "new", "status": "new"},
        {"sort": "new"},
    ]:
        r = await http.get(f"{ideas.url}/ideas", params={**params, "cursor": cursor})
        body = problem(r, 422)
        assert body["field"] == "cursor" and "different query" in body["detail"], r.text
    iid = await submit(http, ideas.url, uid("author"))
    r = await http.get(f"{ideas.url}/ideas/{iid}/comments", params={"cursor": cursor})
    assert "different query" in problem(r, 422)["detail"]


async def test_openapi_states_every_response(
    ideas: ServiceProcess, http: httpx.AsyncClient
) -> None:
    doc = (await http.get(f"{ideas.url}/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths) >= {
        "/ideas",
        "/ideas/{idea_id}",
        "/ideas/{idea_id}/vote",
        "/ideas/{idea_id}/status",
        "/ideas/{idea_id}/merge",
        "/ideas/{idea_id}/comments",
    }
    for path, ops in paths.items():
        for method, op in ops.items():
            ok = next(c for c in op["responses"] if c.startswith("2"))
            schema = op["responses"][ok]["content"]["application/json"]["schema"]
            assert "$ref" in schema, (method, path, schema)  # a named response model
            if method != "get":
                assert {"401", "422"} <= set(op["responses"]), (method, path)
