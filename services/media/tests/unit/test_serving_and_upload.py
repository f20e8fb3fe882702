"""Range parsing, file-name checks and image processing (Pillow on files made here)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from media.domain.errors import BadUploadError, RangeNotSatisfiableError
from media.processing import Reject, images, kind_of, sniff
from media.serve import parse_range
from media.upload import check_filename, sniff_kind


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole object is a valid answer
        ("items=0-1", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, 1000)


@pytest.mark.parametrize(
    "name", ["../x.png", "a/b.png", "a\\b.png", "a\x00.png", "..", " ", "x" * 300]
)
def test_bad_file_names(name: str) -> None:
    with pytest.raises(BadUploadError):
        check_filename(name)


def test_good_file_names() -> None:
    assert check_filename(" Photo 1 (été).JPG ") == "Photo 1 (été).JPG"


def _jpeg(w: int, h: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_image_renditions(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(_jpeg(3000, 2000, 6))
    assert sniff(src) == "image/jpeg" and sniff_kind(src.read_bytes()[:4096]) == "image"
    r = images.process(src, tmp_path, "image/jpeg", 50_000_000)
    assert (r.width, r.height) == (2000, 3000)
    widths = {o.name: Image.open(o.path).size for o in r.outputs}
    assert widths["w320"][0] == 320 and widths["w1280"][0] == 1280
    assert all(h > w for w, h in widths.values()), "orientation applied"
    assert all(not Image.open(o.path).getexif() for o in r.outputs), "no EXIF"


def test_small_images_are_not_upscaled(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(_jpeg(500, 200, 1))
    r = images.process(src, tmp_path, "image/jpeg", 50_000_000)
    assert [o.width for o in r.outputs] == [320, 500, 500]


def test_pixel_limit_and_damage(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(_jpeg(400, 400, 1))
    with pytest.raises(Reject, match="limit"):
        images.process(src, tmp_path, "image/jpeg", 100_000)
    data = _jpeg(800, 800, 1)
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(Reject, match="damaged"):
        images.process(src, tmp_path, "image/jpeg", 50_000_000)
    src.write_bytes(_jpeg(10, 10, 1))
    with pytest.raises(Reject, match="decode as JPEG"):
        images.process(src, tmp_path, "image/png", 50_000_000)


def test_allowed_types() -> None:
    assert kind_of("image/webp") == "image" and kind_of("video/quicktime") == "video"
    for bad in ("image/svg+xml", "text/html", "application/x-executable", "image/bmp"):
        with pytest.raises(Reject, match="not allowed"):
            kind_of(bad)


def test_the_rendition_names_in_the_path_are_those_processing_makes() -> None:
    from media.processing.images import WIDTHS
    from media.serve import RENDITION_NAMES

    assert set(RENDITION_NAMES) == {*WIDTHS, "video", "poster"}
