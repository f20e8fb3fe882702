"""The gallery page: server-rendered HTML, nothing fetched from another origin.

A responsive grid; images with ``srcset`` of their WebP renditions, ``loading=lazy`` and
their size (no layout shift); videos with their poster, native controls and
``preload=metadata`` (the browser then asks for byte ranges). Every text is escaped; the
Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

from .domain.gallery import Gallery
from .domain.model import MediaItem
from .views import ItemView, rendition_url

CSP = (
    "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;padding:1.5rem;background:#f6f7f9;color:#1d2330}
header{max-width:72rem;margin:0 auto 1rem}h1{margin:0 0 .25rem;font-size:1.6rem}
p.meta{margin:0;color:#5b6475}
ul.grid{list-style:none;margin:0 auto;padding:0;max-width:72rem;display:grid;gap:1rem;
grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));align-items:start}
li{background:#fff;border-radius:.5rem;box-shadow:0 1px 3px #0002;overflow:hidden}
li img,li video{display:block;width:100%;height:auto;background:#dde1e7}
figcaption{padding:.6rem .8rem;font-size:.95rem}span.helpful{color:#5b6475;font-size:.85rem}
p.empty{max-width:72rem;margin:2rem auto;color:#5b6475}
"""


def _image(m: MediaItem, alt: str) -> str:
    ws = sorted(
        ((r.width or 0, n) for n, r in m.renditions.items() if n.startswith("w")),
        key=lambda x: x[0],
    )
    srcset = ", ".join(f"{rendition_url(m.media_id, n)} {w}w" for w, n in ws)
    default = next((n for w, n in ws if n == "w640"), ws[-1][1] if ws else "w640")
    width, height = m.width or 640, m.height or 480
    return (
        f'<img src="{rendition_url(m.media_id, default)}" srcset="{srcset}" '
        f'sizes="(max-width: 40rem) 100vw, 22rem" loading="lazy" decoding="async" '
        f'width="{width}" height="{height}" alt="{escape(alt)}">'
    )


def _video(m: MediaItem, alt: str) -> str:
    video = m.renditions["video"]
    width, height = m.width or 640, m.height or 360
    return (
        f'<video controls preload="metadata" playsinline width="{width}" height="{height}" '
        f'poster="{rendition_url(m.media_id, "poster")}" aria-label="{escape(alt)}">'
        f'<source src="{rendition_url(m.media_id, "video")}" type="{escape(video.content_type)}">'
        "</video>"
    )


def render(g: Gallery, items: list[tuple[ItemView, MediaItem]]) -> HTMLResponse:
    cards = []
    for view, m in items:
        alt = view.alt_text or view.caption or m.filename
        body = _video(m, alt) if m.kind == "video" else _image(m, alt)
        helpful = f'<span class="helpful">{view.helpful} found this helpful</span>'
        cards.append(
            f'<li data-media-id="{escape(m.media_id)}"><figure style="margin:0">{body}'
            f"<figcaption>{escape(view.caption)} {helpful}</figcaption></figure></li>"
        )
    grid = (
        f'<ul class="grid">{"".join(cards)}</ul>'
        if cards
        else '<p class="empty">Nothing here yet.</p>'
    )
    what = "How-to collection" if g.kind == "howto" else "Gallery"
    product = f" · product {escape(g.product_id)}" if g.product_id else ""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(g.title)}</title><style>{STYLE}</style>"
        '<link rel="icon" href="data:,"></head><body>'
        f"<header><h1>{escape(g.title)}</h1>"
        f'<p class="meta">{what}{product} · {len(items)} items</p>'
        f"<p>{escape(g.description)}</p></header>{grid}</body></html>"
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )
