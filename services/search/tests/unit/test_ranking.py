"""Relevance on small in-memory indexes: weights, boosts, typos, phrases, filters, snippets."""

from __future__ import annotations

from typing import Any

import pytest

from search.adapters.queries import Filters


def test_title_outweighs_body(env: Any) -> None:
    f = env.feed
    _, ra = f.thread("Printer offline", "my thermostat is fine")
    _, rb = f.thread("Printer jams", "the thermostat display flickers")
    c, rc = f.thread("Thermostat display flickers", "since monday")
    env.apply(ra, rb, rc)
    assert env.ids("thermostat")[0] == c


def test_solved_question_is_boosted(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Router reset", "how to reset the router")
    b, rb = f.thread("Router reset", "how to reset the router")
    env.apply(ra, rb, f.reply(b, "hold the button", "r1"), f.accept(b, "r1"))
    assert env.ids("router reset") == [b, a]


def test_solved_boost_is_one_and_a_half_times(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Router reset", "x")
    b, rb = f.thread("Router reset", "x")
    # identical text statistics: b's accepted reply does not contain the word searched
    env.apply(ra, rb, f.reply(a, "zzz", "ra1"), f.reply(b, "zzz", "rb1"), f.accept(b, "rb1"))
    items, _ = env.service.search("router", Filters(), limit=5)
    score = {i["id"]: i["score"] for i in items}
    assert score[b] == pytest.approx(1.5 * score[a], rel=1e-3)


def test_accepted_answer_outweighs_an_ordinary_reply(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Question one", "x")
    b, rb = f.thread("Question two", "x")
    env.apply(
        ra,
        rb,
        f.reply(a, "update the firmware", "ra1"),
        f.reply(b, "update the firmware", "rb1"),
        f.reply(b, "unrelated", "rb2"),
    )
    # b's firmware reply becomes its accepted answer; compare against a's plain reply
    env.apply(f.accept(b, "rb1"))
    ids = env.ids("firmware")
    assert ids[0] == b and set(ids) == {a, b}


def test_typos_still_find_but_rank_below_exact(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Thermostat schedule", "weekly program")
    b, rb = f.thread("Thermostst schedule", "typo in the title")
    env.apply(ra, rb)
    # a word the index knows is taken as written; an unknown one as a typo
    assert env.ids("thermostat") == [a]
    assert env.ids("thermostat thermostatt") == [a, b]
    assert a in env.ids("thermostta")  # transposition
    assert a in env.ids("thremostatt")  # two edits on a long word
    assert env.ids("scheduel")  # one edit


def test_short_words_are_not_fuzzy(env: Any) -> None:
    f = env.feed
    _, ra = f.thread("Wifi off", "x")
    env.apply(ra)
    assert env.ids("of") == []


def test_phrase_needs_the_words_in_order(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Blinking light", "the light is orange and blinking")
    b, rb = f.thread("Colours", "it blinks orange light")
    env.apply(ra, rb)
    assert env.ids('"blinks orange"') == [b]
    assert set(env.ids("blinks orange")) == {a, b}
    assert env.ids('"orange blinks"') == []


def test_stemming_and_accents(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Résumé of the routers", "Configuring")
    env.apply(ra)
    assert env.ids("resume") == [a]
    assert env.ids("ROUTER") == [a]
    assert env.ids("configured") == [a]


def test_filters(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Router", "x", tags=["wifi"], group_id="g1")
    b, rb = f.thread("Router", "x", kind="review", product_id="sku-1")
    env.apply(ra, rb, f.idea("i1", "Router idea"))
    assert set(env.ids("router")) == {a, b, "i1"}
    assert env.ids("router", tag="wifi") == [a]
    assert env.ids("router", group_id="g1") == [a]
    assert env.ids("router", product_id="sku-1") == [b]
    assert env.ids("router", kind="review") == [b]
    assert env.ids("router", kind="idea") == ["i1"]
    assert env.ids("router", tag="nope") == []


def test_snippet_highlights_and_escapes(env: Any) -> None:
    f = env.feed
    _, ra = f.thread("Title", "Use <script>alert(1)</script> then reset the router & wait")
    env.apply(ra)
    items, _ = env.service.search("router", Filters(), limit=5)
    snippet = items[0]["snippet"]
    assert "<b>router</b>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet


def test_snippet_from_the_accepted_answer_when_the_question_does_not_match(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("Wifi drops", "it drops every hour")
    env.apply(ra, f.reply(a, "set a fixed channel", "r1"), f.accept(a, "r1"))
    items, _ = env.service.search("channel", Filters(), limit=5)
    assert items[0]["snippet"] == "set a fixed <b>channel</b>"
    assert items[0]["solved"] is True


def test_items_have_the_spec_shape(env: Any) -> None:
    f = env.feed
    _, ra = f.thread("Router", "x")
    env.apply(ra, f.idea("i1", "Router idea", "make it faster"), f.merge("i1", "i2"))
    items, more = env.service.search("router", Filters(), limit=5)
    assert not more
    for i in items:
        assert {"type", "id", "title", "snippet", "score"} <= set(i)
        assert isinstance(i["score"], float)
    idea = next(i for i in items if i["type"] == "idea")
    assert idea["merged_into"] == "i2"


def test_paging(env: Any) -> None:
    f = env.feed
    env.apply(*[f.thread(f"Router {n}", "x")[1] for n in range(7)])
    first, more = env.service.search("router", Filters(), limit=5)
    second, more2 = env.service.search("router", Filters(), limit=5, offset=5)
    assert more and not more2
    assert len(first) == 5 and len(second) == 2
    assert not {i["id"] for i in first} & {i["id"] for i in second}


def test_similar_returns_five_most_alike(env: Any) -> None:
    f = env.feed
    records = [f.thread(f"Thermostat problem number {n}", "x")[1] for n in range(8)]
    best, rb = f.thread("How do I reset my thermostat wifi", "x")
    env.apply(*records, rb, f.thread("Unrelated printer", "x")[1])
    similar = env.service.similar("How can I reset the thermostat wifi?")
    assert len(similar) == 5
    assert similar[0]["id"] == best


def test_similar_with_only_stop_words_still_answers(env: Any) -> None:
    f = env.feed
    a, ra = f.thread("How do I", "x")
    env.apply(ra)
    assert [i["id"] for i in env.service.similar("how do i")] == [a]
