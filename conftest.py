"""Every test run: a test that hangs says where, and ends the run instead of CI's whole budget.

pytest-timeout's ``signal`` method raises its failure in whichever frame the main thread runs;
in an asyncio test that is often a background task, which swallows it: the test then hangs
for ever (CI once waited an hour in a fixture's teardown after a failed test). So the suite
uses the ``thread`` method (pyproject: print every thread's stack, then end the process), and
this watchdog prints what a thread dump cannot show, every pending asyncio task with the line
it waits on, shortly before pytest-timeout fires.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

#: seconds before the item's timeout at which the pending tasks are printed
LEAD = 15.0


def _timeout_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


def _print_pending_tasks(nodeid: str) -> None:
    out = sys.__stderr__
    if out is None:
        return
    out.write(f"\n+++ {nodeid} is about to time out: pending asyncio tasks +++\n")
    tasks: list[asyncio.Task[Any]] = []
    for _ in range(5):  # the set may change while another thread iterates it
        try:
            tasks = [t for t in list(asyncio.tasks._all_tasks) if not t.done()]
            break
        except RuntimeError:
            continue
    for t in tasks:
        try:
            out.write(f"--- {t.get_name()}: {t.get_coro()!r}\n")
            t.print_stack(limit=20, file=out)
        except Exception as e:  # noqa: BLE001  (a diagnostic must never raise)
            out.write(f"    (stack unavailable: {e!r})\n")
    out.write("+++ end of pending asyncio tasks +++\n")
    out.flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    timeout = _timeout_of(item)
    timer = None
    if timeout > LEAD:
        timer = threading.Timer(timeout - LEAD, _print_pending_tasks, args=(item.nodeid,))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
