"""schemas.levels: SPEC 4 levels 0 new (< 10), 1 basic (≥ 10), 2 member (≥ 100),
3 regular (≥ 500), 4 leader (≥ 2000), and the forum privileges they unlock."""

from __future__ import annotations

import pytest

from schemas import levels


@pytest.mark.parametrize(
    ("reputation", "level", "name"),
    [
        (1, 0, "new"),
        (9, 0, "new"),
        (10, 1, "basic"),
        (99, 1, "basic"),
        (100, 2, "member"),
        (499, 2, "member"),
        (500, 3, "regular"),
        (1999, 3, "regular"),
        (2000, 4, "leader"),
        (100_000, 4, "leader"),
    ],
)
def test_level_thresholds(reputation: int, level: int, name: str) -> None:
    assert levels.level_for(reputation) == level
    assert levels.level_name(level) == name


@pytest.mark.parametrize(
    ("reputation", "expected"),
    [
        (1, (1, 9)),
        (10, (2, 90)),
        (150, (3, 350)),
        (1999, (4, 1)),
        (2000, (None, 0)),
        (5000, (None, 0)),
    ],
)
def test_next_level_and_points_to_it(reputation: int, expected: tuple[int | None, int]) -> None:
    assert levels.next_level(reputation) == expected


def test_table_is_indexed_by_level_number_and_ascending() -> None:
    assert [lv.number for lv in levels.LEVELS] == list(range(len(levels.LEVELS)))
    minimums = [lv.minimum for lv in levels.LEVELS]
    assert minimums == sorted(minimums) and minimums[0] == 0
    assert levels.TOP == levels.LEVELS[-1].number == 4


def test_forum_privileges_of_spec_4() -> None:
    # level ≥ 1 may down-vote, ≥ 2 may flag, a flag from ≥ 3 or three flags from ≥ 2 hide
    assert (levels.DOWNVOTE_LEVEL, levels.FLAG_LEVEL, levels.HIDE_AT_ONCE_LEVEL) == (1, 2, 3)
    assert levels.FLAGS_TO_HIDE == 3
    assert levels.describe(levels.FLAG_LEVEL) == "2 (member)"
