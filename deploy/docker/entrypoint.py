"""Entry point of every service image (Dockerfile): ``python -m $COMMUNITY_SERVICE``.

A service binds ``<PREFIX>HOST`` (``FORUM_HOST``...), 127.0.0.1 by default; in a container it
must listen on every interface, so this sets ``<PREFIX>HOST=0.0.0.0`` unless the environment
already names a host. The prefix is read from the service's own Settings class (its
``env_prefix``), never guessed. With arguments, it runs them instead (same environment), e.g.
``docker run IMAGE python -m reputation.rebuild``.
"""

from __future__ import annotations

import importlib
import os
import sys


def env_prefix(service: str) -> str:
    settings_class = importlib.import_module(f"{service}.config").Settings
    return str(settings_class.model_config.get("env_prefix") or "")


def command(service: str, argv: list[str]) -> list[str]:
    return argv or [sys.executable, "-m", service]


def main() -> None:
    service = os.environ.get("COMMUNITY_SERVICE", "")
    if not service:
        sys.exit("COMMUNITY_SERVICE is not set (the image is built with --build-arg SERVICE=...)")
    os.environ.setdefault(f"{env_prefix(service)}HOST", "0.0.0.0")
    args = command(service, sys.argv[1:])
    # exec: the service is PID 1 and receives SIGTERM itself (graceful shutdown)
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
