"""``python tests/chaos/launch.py <service>``: run a service exactly as ``python -m <service>``
does, plus one test-only fault point when ``CHAOS_COMMIT_DELAY_SECONDS`` is set.

The fault point widens the window between a consumer batch's store write and its offset
commit (the kit's :class:`communitykit.consumer.BatchConsumer` writes, then commits): after
the service's handler returns, the process prints ``CHAOS-WRITTEN <n>`` to its log and waits
that long before the kit commits. The chaos suite watches the log for that line and sends
``kill -9`` inside the window, so "killed between the write and the commit" is a fact of the
run, not a hope. Only every fourth batch is held back (catching up on the topics' history
stays fast), starting with the first after a start: the one a restart redelivers, and a
window the suite can kill in right away instead of three batches later. Nothing here
changes what the service does otherwise.

``kill -USR1 <pid>`` prints the stack of every asyncio task to the log (the suite does it
when the services do not catch up in time, to show where a loop is stuck).
"""

from __future__ import annotations

import asyncio
import os
import runpy
import signal
import sys
from collections.abc import Sequence
from typing import Any

#: every how many batches the commit is held back (and ``CHAOS-WRITTEN`` printed)
EVERY = 4


def _install_commit_delay(delay: float) -> None:
    from communitykit import consumer

    original = consumer.BatchConsumer.__init__
    written = 0

    def init(self: Any, broker: Any, topic_names: Sequence[str], **kw: Any) -> None:
        handler = kw.pop("handler")

        async def then_wait(batch: Any) -> Any:
            nonlocal written
            result = await handler(batch)
            written += 1
            if written % EVERY == 1:  # not every batch: catching up stays fast
                print(f"CHAOS-WRITTEN {written} records={len(batch)}", flush=True)
                await asyncio.sleep(delay)
            return result

        original(self, broker, topic_names, handler=then_wait, **kw)

    consumer.BatchConsumer.__init__ = init  # type: ignore[method-assign]


def _dump_tasks(signum: int, frame: Any) -> None:
    loop = asyncio._get_running_loop()
    if loop is None:
        return
    print(f"CHAOS-TASKS {len(asyncio.all_tasks(loop))} tasks", flush=True)
    for task in asyncio.all_tasks(loop):
        print(f"--- {task.get_name()} {task!r}"[:300], flush=True)
        task.print_stack(file=sys.stdout)
    sys.stdout.flush()


def main() -> None:
    signal.signal(signal.SIGUSR1, _dump_tasks)
    name = sys.argv[1]
    delay = float(os.environ.get("CHAOS_COMMIT_DELAY_SECONDS") or 0)
    if delay > 0:
        _install_commit_delay(delay)
    sys.argv = [name]
    runpy.run_module(name, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
