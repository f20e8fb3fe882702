"""tests/deploy: the deployment files and their validators (deploy/tools) work, and each
validator fails on a deliberately broken fixture (fixtures/)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT / "deploy" / "tools"))
