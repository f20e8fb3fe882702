"""A fix of aiokafka 0.14.0 (the latest release): committed offsets lost after a broker restart.

Defect: ``GroupCoordinator._do_fetch_commit_offsets`` reads only the per-partition error codes
of an OffsetFetch response. From version 2 on (aiokafka sends up to v3) the broker reports a
group-level error — ``COORDINATOR_LOAD_IN_PROGRESS`` while it loads ``__consumer_offsets``
after a restart, ``NOT_COORDINATOR``, ``COORDINATOR_NOT_AVAILABLE`` — in the top-level
``error_code`` with an EMPTY partition list (Kafka's ``OffsetFetchRequest.getErrorResponse``).
aiokafka then sees "no committed offset" for every partition and applies
``auto_offset_reset``: a consumer that joined its group in the seconds after a broker restart
started over from offset 0 of every topic (found by the notifications chaos test: a service
restarted just after the broker re-read the whole history of the topics it consumes).

Fix: the coordinator's request sender raises a group-level OffsetFetch error as the exception
aiokafka already retries (each is ``retriable``; ``NOT_COORDINATOR`` also forgets the
coordinator so that it is looked up again), so ``fetch_committed_offsets`` waits and asks
again instead of resetting. Installed once, on import of the kit's consumer.
"""

from __future__ import annotations

import logging
from typing import Any

import aiokafka.errors as kafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchRequest

log = logging.getLogger(__name__)


def check_offset_fetch(coordinator: Any, request: Any, response: Any) -> None:
    """Raise the group-level error of an OffsetFetch ``response`` (nothing for others)."""
    if not isinstance(request, OffsetFetchRequest):
        return
    code = getattr(response, "error_code", 0)
    if not code:
        return
    error_type = kafka_errors.for_code(code)
    # rare (a broker restart, a coordinator move): worth a line in the log each time
    log.warning(
        "group %s: OffsetFetch answered %s; asking again",
        coordinator.group_id,
        error_type.__name__,
    )
    if error_type is kafka_errors.NotCoordinatorForGroupError:
        coordinator.coordinator_dead()
    raise error_type()


def install() -> None:
    send = GroupCoordinator._send_req
    if getattr(send, "checks_offset_fetch", False):
        return

    async def _send_req(self: GroupCoordinator, request: Any) -> Any:
        response = await send(self, request)
        check_offset_fetch(self, request, response)
        return response

    _send_req.checks_offset_fetch = True  # type: ignore[attr-defined]
    GroupCoordinator._send_req = _send_req  # type: ignore[method-assign]
