"""Start the chaos suite's services by forking a process that has imported them already.

The chaos tests restart services many times (kill -9 at 20+ points per consumer, SIGTERM,
replicas joining a group). Starting ``python tests/chaos/launch.py <service>`` imports
FastAPI, FastStream, pymongo, pydantic and the service afresh each time: seconds of CPU on
two shared cores, most of those tests' run time. Here one parent process (this file run as a
script: "the zygote") imports every service's modules once, then, on request, forks a child
that does exactly what launch.py does (``runpy`` of ``<service>.__main__``, with the test's
environment, its log as stdout and stderr, a session of its own). The child is a real process
of its own: ``kill -9`` of its pid ends it without any shutdown, like before. The parent reaps
its children and reports their exit codes, so :class:`Forked` answers ``poll``/``wait`` like
``subprocess.Popen`` (-N: killed by signal N).

Nothing is imported that reads the environment: the services read their settings when the
child builds them (pydantic settings, telemetry), after the environment is the test's.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVICES = ("forum", "ideas", "reputation", "analytics", "search", "notifications", "gatherings")
#: what ``serve`` imports only when it runs (uvicorn picks these implementations here)
LATE = (
    "uvicorn",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.lifespan.on",
    "communitykit.app",
    "communitykit.consumer",
    "launch",
)


# ----------------------------------------------------------------------------- the zygote


def _exit_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become ``python launch.py <name>`` (never returns)."""
    code = 1
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [str(HERE / "launch.py"), request["name"]]
        import launch  # type: ignore[import-not-found]

        launch.main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - like the interpreter: print it, exit 1
        traceback.print_exc()
        code = 1
    finally:
        try:
            threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """The zygote: import everything, then fork a child per request line on stdin."""
    sys.path.insert(0, str(HERE))
    for name in SERVICES:
        for module in (f"{name}.config", f"{name}.main"):
            try:
                importlib.import_module(module)
            except ImportError:
                pass  # not installed here: its child imports what it needs itself
    for module in LATE:
        importlib.import_module(module)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    stdin = sys.stdin.fileno()
    buffered = b""
    while True:
        while True:  # reap: report every child that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            out.write(f"exit {pid} {_exit_code(status)}\n")
            out.flush()
        ready, _, _ = select.select([stdin], [], [], 0.02)
        if not ready:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            return  # the test session ended
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            request = json.loads(line)
            out.flush()
            pid = os.fork()
            if pid == 0:
                _child(request)
            out.write(f"pid {pid}\n")
            out.flush()


# ----------------------------------------------------------------------------- the test side


class Zygote:
    """The test session's zygote process and the exit codes of its children."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline() != b"ready\n":
            raise RuntimeError(f"the zygote did not start (exit {self.proc.wait()})")
        self.lock = threading.Lock()
        self.changed = threading.Condition()
        self.exits: dict[int, int] = {}
        self.pids: queue.Queue[int] = queue.Queue()
        threading.Thread(target=self._read, name="zygote-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, *rest = line.decode().split()
            if kind == "pid":
                self.pids.put(int(rest[0]))
            elif kind == "exit":
                with self.changed:
                    self.exits[int(rest[0])] = int(rest[1])
                    self.changed.notify_all()

    def spawn(self, name: str, env: dict[str, str], log: Path) -> Forked:
        assert self.proc.stdin is not None
        with self.lock:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the zygote exited {self.proc.returncode}")
            line = json.dumps({"name": name, "env": env, "log": str(log)})
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
            return Forked(self, self.pids.get(timeout=60))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Forked:
    """A forked service, answering what tests ask of a ``subprocess.Popen``."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        with self.zygote.changed:
            self.returncode = self.zygote.exits.get(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.zygote.changed:
            if not self.zygote.changed.wait_for(lambda: self.pid in self.zygote.exits, timeout):
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            self.returncode = self.zygote.exits[self.pid]
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not reaped yet: the pid is still this child's
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


_zygote: Zygote | None = None
_started = threading.Lock()


def zygote() -> Zygote:
    """The session's zygote (started on first use, ended at exit)."""
    global _zygote
    with _started:
        if _zygote is None or _zygote.proc.poll() is not None:
            _zygote = Zygote()
            atexit.register(_zygote.close)
        return _zygote


if __name__ == "__main__":
    serve()
