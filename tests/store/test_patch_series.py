"""The FerretDB patch series is applied at build time, and a stale patch stops the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..servers import localrun

PATCH = "\n".join(
    [
        "Header comment: which defect, where, why.",
        "",
        "diff --git a/internal/x.go b/internal/x.go",
        "--- a/internal/x.go",
        "+++ b/internal/x.go",
        "@@ -1,3 +1,3 @@",
        " package x",
        " ",
        "-const A = 1",
        "+const A = 2",
        "",
    ]
)


def tree(tmp_path: Path, content: str) -> Path:
    (tmp_path / "FerretDB" / "internal").mkdir(parents=True)
    (tmp_path / "FerretDB" / "internal" / "x.go").write_text(content)
    return tmp_path / "FerretDB"


def test_series_is_numbered_and_commented() -> None:
    patches = localrun.ferretdb_patches()
    assert [p.name[:4] for p in patches] == [f"{i:04}" for i in range(1, len(patches) + 1)]
    for p in patches:
        header = p.read_text().split("\ndiff --git ", 1)[0]
        assert "Where:" in header and "Why:" in header and "Fix:" in header, p.name


def test_a_patch_that_applies_changes_the_copy(tmp_path: Path) -> None:
    (tmp_path / "0001-x.patch").write_text(PATCH)
    module = tree(tmp_path, "package x\n\nconst A = 1\n")
    localrun._apply_patches(module, [tmp_path / "0001-x.patch"])
    assert (module / "internal" / "x.go").read_text() == "package x\n\nconst A = 2\n"


def test_a_patch_that_no_longer_applies_stops_the_build_naming_it(tmp_path: Path) -> None:
    (tmp_path / "0007-stale.patch").write_text(PATCH)
    module = tree(tmp_path, "package x\n\nconst A = 3\n")
    with pytest.raises(localrun.PatchError, match=re.escape("0007-stale.patch no longer applies")):
        localrun._apply_patches(module, [tmp_path / "0007-stale.patch"])
    assert (module / "internal" / "x.go").read_text() == "package x\n\nconst A = 3\n"
