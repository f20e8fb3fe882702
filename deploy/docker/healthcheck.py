"""HEALTHCHECK of every service image: exit 0 when ``GET /healthz`` answers 2xx.

The port comes from the service's own Settings (``FORUM_PORT``... or the class default), so the
image needs no per-service port argument. Standard library plus the service's config only.
"""

from __future__ import annotations

import importlib
import os
import sys
import urllib.request


def url(service: str) -> str:
    settings = importlib.import_module(f"{service}.config").Settings()
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/healthz"


def main() -> int:
    target = url(os.environ["COMMUNITY_SERVICE"])
    try:
        with urllib.request.urlopen(target, timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError as exc:
        print(f"{target}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
