"""Which services the repository has, found from the tree (no list to keep up to date).

A service is a folder ``services/<name>/`` with a ``pyproject.toml`` and a Settings class in
``services/<name>/src/<name>/config.py`` (a subclass of ``communitykit.settings.ServiceSettings``).
Used by the configuration reference generator, ``validate_deploy.py`` and tests/deploy.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Service:
    name: str
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "src" / self.name / "config.py"

    def settings_class(self) -> Any:
        """The service's ``Settings`` class (the package is installed by ``make venv``)."""
        return importlib.import_module(f"{self.name}.config").Settings

    @property
    def env_prefix(self) -> str:
        return str(self.settings_class().model_config.get("env_prefix") or "")

    @property
    def port(self) -> int:
        return int(self.settings_class().model_fields["port"].default)

    @property
    def image(self) -> str:
        return f"community-{self.name}"


def discover(repo: Path = REPO) -> list[Service]:
    services = [
        Service(p.parent.name, p.parent)
        for p in sorted((repo / "services").glob("*/pyproject.toml"))
    ]
    missing = [
        str(s.config_path.relative_to(repo)) for s in services if not s.config_path.is_file()
    ]
    if missing:
        raise SystemExit(
            f"every service needs src/<name>/config.py with a Settings class: {missing}"
        )
    return services
