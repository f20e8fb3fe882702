"""``python tests/chaos/launch.py <service>``: run a service exactly as ``python -m <service>``
does, plus one test-only fault point when ``CHAOS_COMMIT_DELAY_SECONDS`` is set.

The fault point widens the window between a consumer batch's store write and its offset
commit (the kit's :class:`communitykit.consumer.BatchConsumer` writes, then commits): after
the service's handler returns, the process prints ``CHAOS-WRITTEN <n>`` to its log and waits
that long before the kit commits. The chaos suite watches the log for that line and sends
``kill -9`` inside the window, so "killed between the write and the commit" is a fact of the
run, not a hope. Nothing here changes what the service does otherwise.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
from collections.abc import Sequence
from typing import Any


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
            print(f"CHAOS-WRITTEN {written} records={len(batch)}", flush=True)
            await asyncio.sleep(delay)
            return result

        original(self, broker, topic_names, handler=then_wait, **kw)

    consumer.BatchConsumer.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    name = sys.argv[1]
    delay = float(os.environ.get("CHAOS_COMMIT_DELAY_SECONDS") or 0)
    if delay > 0:
        _install_commit_delay(delay)
    sys.argv = [name]
    runpy.run_module(name, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
