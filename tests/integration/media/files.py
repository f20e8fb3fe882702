"""Test files made on the fly (Pillow, ffmpeg): nothing binary is committed."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg(width: int = 1600, height: int = 1000, *, orientation: int = 1, gps: bool = True) -> bytes:
    """A JPEG with a gradient, an EXIF orientation and (by default) a GPS position."""
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "TestCam"  # Make
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85, exif=exif)
    return buf.getvalue()


def png(width: int = 400, height: int = 300) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (30, 120, 200, 255)).save(buf, "PNG")
    return buf.getvalue()


def gif() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (200, 100), 3).save(buf, "GIF")
    return buf.getvalue()


def webp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (500, 250), (200, 80, 20)).save(buf, "WEBP")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 30_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    row = b"\x00" + b"\x00" * side
    comp = zlib.compressobj(9)
    data = comp.compress(row * 64) + comp.flush()  # a few rows: enough to be a valid start
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>alert(document.cookie)</script><rect width="100" height="100"/></svg>'
)
HTML = b"<!doctype html><html><body><script>alert(1)</script><p>hello</p></body></html>"


def elf() -> bytes:
    """The start of a real executable (this interpreter's own binary)."""
    return Path("/bin/true").read_bytes()[: 64 * 1024]


def has_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def video(tmp: Path, *, seconds: float = 3, fmt: str = "mp4", size: str = "640x360") -> bytes:
    """A test clip (with a tone) made by ffmpeg."""
    out = tmp / f"clip-{seconds}-{size}.{fmt}"
    codec = (
        ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart"]
        if fmt in ("mp4", "mov")
        else ["-c:v", "libvpx", "-b:v", "300k", "-c:a", "libopus"]
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate=24",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-shortest", *codec, str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()
