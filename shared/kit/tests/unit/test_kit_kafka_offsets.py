"""The fix of aiokafka's OffsetFetch: a group-level error is retried, never read as "no
committed offset" (which made a consumer start over from offset 0 after a broker restart)."""

from __future__ import annotations

import aiokafka.errors as kafka_errors
import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchRequest, OffsetFetchResponse_v3

import communitykit.consumer  # noqa: F401  (installs the fix)
from communitykit.kafka_offsets import check_offset_fetch


class Coordinator:
    group_id = "g"
    dead = 0

    def coordinator_dead(self) -> None:
        self.dead += 1


REQUEST = OffsetFetchRequest("g", [("forum.events", [0, 1])])


def response(code: int) -> OffsetFetchResponse_v3:
    # what Kafka sends for a group-level error from v2 on: no partitions at all
    return OffsetFetchResponse_v3(0, [], code)


def test_a_coordinator_still_loading_its_offsets_is_asked_again() -> None:
    c = Coordinator()
    with pytest.raises(kafka_errors.GroupLoadInProgressError) as e:
        check_offset_fetch(c, REQUEST, response(14))
    assert e.value.retriable and c.dead == 0


def test_not_the_coordinator_forgets_it_and_is_retried() -> None:
    c = Coordinator()
    with pytest.raises(kafka_errors.NotCoordinatorForGroupError) as e:
        check_offset_fetch(c, REQUEST, response(16))
    assert e.value.retriable and c.dead == 1


def test_a_good_answer_and_other_requests_pass() -> None:
    check_offset_fetch(Coordinator(), REQUEST, response(0))
    check_offset_fetch(Coordinator(), object(), response(14))


def test_the_kit_installs_the_fix() -> None:
    assert getattr(GroupCoordinator._send_req, "checks_offset_fetch", False)
