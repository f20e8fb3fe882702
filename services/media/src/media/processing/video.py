"""Videos: ffprobe for duration, size and codecs; a poster frame and a metadata-free copy
with ffmpeg (Debian packages). Subprocesses, each with a time limit."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from . import Output, Reject, Result

VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1"}
AUDIO_CODECS = {"aac", "opus", "vorbis", "mp3"}
#: longest any one ffmpeg/ffprobe run may take
TIMEOUT = 120.0


class ToolMissingError(RuntimeError):
    """ffmpeg/ffprobe is not installed: an operations problem, never the author's."""


async def _run(*cmd: str, timeout: float = TIMEOUT) -> tuple[int, bytes, bytes]:
    if shutil.which(cmd[0]) is None:
        raise ToolMissingError(f"{cmd[0]} is not installed (apt-get install ffmpeg)")
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise Reject(f"the video could not be processed within {timeout:.0f} s") from None
    return proc.returncode or 0, out, err


async def probe(src: Path) -> dict[str, Any]:
    code, out, err = await _run(
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(src)
    )
    if code != 0:
        raise Reject(f"the video cannot be read ({err.decode(errors='replace').strip()[:200]})")
    info: dict[str, Any] = json.loads(out or b"{}")
    return info


async def process(src: Path, out: Path, mime: str, *, max_seconds: float, max_side: int) -> Result:
    info = await probe(src)
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise Reject("the file has no video stream")
    codec = str(video.get("codec_name", ""))
    if codec not in VIDEO_CODECS:
        raise Reject(f"video codec {codec or 'unknown'} is not allowed")
    for s in streams:
        if s.get("codec_type") == "audio" and s.get("codec_name") not in AUDIO_CODECS:
            raise Reject(f"audio codec {s.get('codec_name')} is not allowed")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if not width or not height:
        raise Reject("the video has no frame size")
    if max(width, height) > max_side:
        raise Reject(f"video frames are {width}x{height}; the limit is {max_side} px a side")
    try:
        duration = float((info.get("format") or {}).get("duration") or video.get("duration"))
    except (TypeError, ValueError):
        raise Reject("the video's duration is unknown") from None
    if duration > max_seconds:
        raise Reject(f"the video lasts {duration:.1f} s; the limit is {max_seconds:.0f} s")
    webm = mime == "video/webm"
    copy = out / ("video.webm" if webm else "video.mp4")
    # a copy without metadata (no GPS or device tags), streams untouched; MP4/MOV get their
    # index at the front so a browser can start playing and seeking at once
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?"]
    cmd += ["-map_metadata", "-1", "-c", "copy"]
    cmd += ["-f", "webm"] if webm else ["-movflags", "+faststart", "-f", "mp4"]
    code, _, err = await _run(*cmd, str(copy))
    if code != 0:
        raise Reject(f"the video cannot be read ({err.decode(errors='replace').strip()[:200]})")
    poster = out / "poster.webp"
    at = min(1.0, duration / 2)
    code, _, err = await _run(
        "ffmpeg", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(src),
        "-frames:v", "1", "-vf", "scale='min(1280,iw)':-2", "-c:v", "libwebp",
        "-quality", "80", str(poster),
    )  # fmt: skip
    if code != 0 or not poster.exists():
        raise Reject("no frame of the video could be decoded for its poster")
    content_type = "video/webm" if webm else "video/mp4"
    return Result(
        "video",
        mime,
        width,
        height,
        round(duration, 3),
        [
            Output("video", copy, content_type, width),
            Output("poster", poster, "image/webp", min(1280, width)),
        ],
    )
