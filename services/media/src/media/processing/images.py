"""Images: Pillow with a pixel limit, orientation applied, metadata stripped, WebP renditions.

Runs in a worker thread (CPU-bound). A decompression bomb is refused from the header alone
(``Image.open`` reads only the size) before any pixel is decoded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from . import Output, Reject, Result

#: rendition name → width (never upscaled: a smaller original keeps its own width)
WIDTHS = {"w320": 320, "w640": 640, "w1280": 1280}
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def process(src: Path, out: Path, mime: str, max_pixels: int) -> Result:
    # Pillow's own guard warns between 1x and 2x its limit and raises only above: ours is
    # explicit and exact (the size from the header, checked in _render before any decoding),
    # with Pillow's left at 2x ours as a backstop; its warning is an error here
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(src) as im:
                return _render(im, out, mime, max_pixels)
        except Reject:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise Reject(_too_large(src, max_pixels) or f"image too large to decode: {e}") from e
        except UnidentifiedImageError as e:
            raise Reject("the file is not a readable image") from e
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            # truncated or corrupt data: "image file is truncated", broken chunks...
            raise Reject(f"the image is damaged or incomplete ({e})") from e


def _render(im: Image.Image, out: Path, mime: str, max_pixels: int) -> Result:
    if FORMATS.get(im.format or "") != mime:
        raise Reject(f"the bytes say {mime} but decode as {im.format}")
    w, h = im.size
    if w * h > max_pixels:
        raise Reject(f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}")
    # the size as shown: EXIF orientations 5-8 turn the picture a quarter
    swapped = im.getexif().get(0x0112) in (5, 6, 7, 8)
    shown_w, shown_h = (h, w) if swapped else (w, h)
    if im.format == "JPEG":
        # decode at the smallest scale (1/2, 1/4, 1/8) still at least as large as the widest
        # rendition: a 12 MP photo decodes ~4x faster
        im.draft("RGB", (max(WIDTHS.values()), max(WIDTHS.values())))
    im.load()  # decodes everything now: a truncated file fails here
    im = ImageOps.exif_transpose(im)  # orientation applied: EXIF is not copied below
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode in ("LA", "PA") else "RGB")
    tw, th = im.size
    outputs: list[Output] = []
    for name, width in WIDTHS.items():
        rw = min(width, tw)
        rh = max(1, round(th * rw / tw))
        r = im if rw == tw else im.resize((rw, rh), Image.Resampling.LANCZOS)
        path = out / f"{name}.webp"
        # saved without exif=/icc=: no EXIF, no GPS, no camera serial in any rendition
        r.save(path, "WEBP", quality=80, method=4)
        outputs.append(Output(name, path, "image/webp", rw))
    return Result("image", mime, shown_w, shown_h, None, outputs)


def _too_large(src: Path, max_pixels: int) -> str | None:
    """The reason naming the size, read from the header alone (Pillow's guard refused it)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only to read the header: nothing is decoded here
    try:
        with Image.open(src) as im:
            w, h = im.size
    except Exception:  # noqa: BLE001 - no size to report: the caller's reason stands
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}"
