"""The demo's media galleries (issue 24): members upload photos of their products (drawn
with Pillow), staff upload a short how-to clip made on the fly with ffmpeg (when it is
installed), the staff moderator approves the members' held uploads (level 0), members make a
gallery per product and vote its items helpful, staff curate each product's how-to
collection, and a member's forum post shows two of the photos by their media ids.

Requests go through the simulator (counted in its table); polling for the worker and the
forum's projection uses the simulator's plain client (not counted)."""

from __future__ import annotations

import asyncio
import io
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .plan import PRODUCTS, User
from .sim import Simulator

COLOURS = ("#3b7dd8", "#d8743b", "#3bd87a", "#b03bd8", "#d8c83b", "#3bd8d0")


def photo(product: str, owner: str, rng: random.Random) -> bytes:
    """A JPEG "photo" of the product on a shelf: a box with its name and the owner's."""
    im = Image.new("RGB", (1600, 1200), rng.choice(COLOURS))
    d = ImageDraw.Draw(im)
    x, y = rng.randint(100, 500), rng.randint(100, 400)
    d.rectangle((x, y, x + 900, y + 600), fill="#f4f4f4", outline="#222222", width=12)
    d.text((x + 60, y + 60), product, fill="#111111", font_size=120)
    d.text((x + 60, y + 420), f"set up by {owner}", fill="#444444", font_size=48)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def clip(product: str) -> bytes | None:
    """A 3-second how-to clip (H.264 + AAC in MP4), or None without ffmpeg."""
    if shutil.which("ffmpeg") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "howto.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y",
             "-f", "lavfi", "-i", "testsrc=duration=3:size=640x360:rate=24",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
             "-vf", f"drawtext=text='{product} how-to':fontsize=40:x=20:y=20:fontcolor=white",
             "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
             "-movflags", "+faststart", str(out)],
            check=False, capture_output=True, timeout=60,
        )  # fmt: skip
        if not out.exists():  # no drawtext (fontconfig) in this ffmpeg: the plain pattern
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y",
                 "-f", "lavfi", "-i", "testsrc=duration=3:size=640x360:rate=24",
                 "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
        return out.read_bytes()


async def _settled(sim: Simulator, media_id: str, user: str, timeout: float) -> tuple[str, bool]:
    """The item's state once the worker is done ("processing" if it never was), and whether
    it is held for review (a level-0 author's; a store left by an earlier demo run has its
    members above level 0, so nothing of theirs is held)."""
    deadline = time.monotonic() + timeout
    while True:
        r = await sim.raw("GET", f"{sim.urls.media}/media/{media_id}", user)
        body = r.json() if r.status_code == 200 else {}
        state = body.get("state", "processing")
        if state != "processing" or time.monotonic() > deadline:
            return str(state), bool(body.get("held", False))
        await asyncio.sleep(0.5)


async def _upload(
    sim: Simulator, user: str, data: bytes, name: str, ctype: str, alt: str
) -> str | None:
    r = await sim.call(
        "upload media",
        "POST",
        f"{sim.urls.media}/media",
        user,
        files={"file": (name, data, ctype)},
        data={"alt_text": alt},
    )
    return None if r is None else str(r.json()["media_id"])


async def _howto(sim: Simulator, staff: str, product: str) -> str | None:
    """The product's how-to collection (one per product: reused on a later run)."""
    r = await sim.call(
        "list galleries",
        "GET",
        f"{sim.urls.media}/galleries",
        params={"product_id": product, "kind": "howto"},
    )
    if r is not None and r.json()["items"]:
        return str(r.json()["items"][0]["gallery_id"])
    r = await sim.call(
        "create gallery",
        "POST",
        f"{sim.urls.media}/galleries",
        staff,
        json={
            "title": f"How to set up the {product}",
            "description": "Curated by our staff: the clips and photos that help most.",
            "kind": "howto",
            "product_id": product,
        },
    )
    return None if r is None else str(r.json()["gallery_id"])


async def run(sim: Simulator, users: list[User], seed: int, products: int = 3) -> dict[str, Any]:
    """Uploads, approvals, galleries, votes and a forum post; returns the summary."""
    rng = random.Random(seed)
    m = sim.urls.media
    staff = next(u.name for u in users if u.kind == "staff")
    members = [u.name for u in users if u.kind in ("champion", "member")]
    chosen = rng.sample(PRODUCTS, min(products, len(PRODUCTS)))
    owners = {p: rng.sample(members, min(2, len(members))) for p in chosen}
    # 1. uploads: members' photos (level 0: held for review), staff's how-to clips
    photos: dict[str, list[tuple[str, str]]] = {p: [] for p in chosen}
    for p in chosen:
        for who in owners[p]:
            mid = await _upload(
                sim, who, photo(p, who, rng), f"{p}.jpg", "image/jpeg", f"My {p} on its shelf"
            )
            if mid:
                photos[p].append((mid, who))
    clips: dict[str, str] = {}
    for p in chosen:
        data = await asyncio.to_thread(clip, p)
        if data is not None:
            mid = await _upload(sim, staff, data, f"{p}-howto.mp4", "video/mp4", f"{p} set-up")
            if mid:
                clips[p] = mid
    # 2. the worker renders them; the moderator approves the held photos
    everything = [(mid, who) for ps in photos.values() for mid, who in ps]
    everything += [(mid, staff) for mid in clips.values()]
    states = await asyncio.gather(*(_settled(sim, mid, who, 90) for mid, who in everything))
    ready = {mid for (mid, _), (s, _) in zip(everything, states, strict=True) if s == "ready"}
    held = {mid for (mid, _), (_, h) in zip(everything, states, strict=True) if h}
    approved = 0
    for mid, _who in everything:
        if mid in ready and mid in held:
            r = await sim.call("approve media", "POST", f"{m}/media/{mid}/approve", staff)
            approved += r is not None
    # 3. galleries: a community gallery per product, its owners' photos, helpful votes
    galleries, items, votes = 0, 0, 0
    for p in chosen:
        mine = [(mid, who) for mid, who in photos[p] if mid in ready]
        if not mine:
            continue
        r = await sim.call(
            "create gallery",
            "POST",
            f"{m}/galleries",
            mine[0][1],
            json={"title": f"Our {p} set-ups", "product_id": p, "tags": ["setup"]},
        )
        if r is None:
            continue
        gid, galleries = r.json()["gallery_id"], galleries + 1
        for mid, who in mine:
            r = await sim.call(
                "add gallery item",
                "POST",
                f"{m}/galleries/{gid}/items",
                who,
                json={"media_id": mid, "caption": f"{who}'s {p}"},
            )
            items += r is not None
        for voter in rng.sample(members, min(4, len(members))):
            for mid, who in mine:
                if voter != who:
                    r = await sim.call(
                        "vote helpful",
                        "PUT",
                        f"{m}/galleries/{gid}/items/{mid}/vote",
                        voter,
                        json={"value": 1},
                    )
                    votes += r is not None
        # staff curate: the clip and the best photo in the product's how-to collection
        howto = await _howto(sim, staff, p)
        for mid in [clips.get(p), mine[0][0]]:
            if howto and mid and mid in ready:
                r = await sim.call(
                    "add gallery item",
                    "POST",
                    f"{m}/galleries/{howto}/items",
                    staff,
                    json={"media_id": mid, "caption": f"{p}: the set-up"},
                )
                items += r is not None
    # 4. a forum media post showing a member's photos by id, once the forum knows them
    post = await _forum_post(sim, photos, ready)
    return {
        "uploads": len(everything),
        "ready": len(ready),
        "approved": approved,
        "galleries": galleries,
        "items": items,
        "helpful votes": votes,
        "forum post": post or "none",
        "verified": "yes" if ready == {mid for mid, _ in everything} and post else "no",
    }


async def _forum_post(
    sim: Simulator, photos: dict[str, list[tuple[str, str]]], ready: set[str]
) -> str | None:
    for p, shots in photos.items():
        mine = [mid for mid, who in shots if mid in ready and who == shots[0][1]]
        if not mine:
            continue
        body = {
            "kind": "media",
            "title": f"My {p} set-up",
            "body": "Photos of how I mounted it; the gallery has more.",
            "tags": [p],
            "product_id": p,
            "media_ids": mine,
        }
        deadline = time.monotonic() + 30  # the forum's projection of media.events
        while True:
            r = await sim.raw("POST", f"{sim.urls.forum}/threads", shots[0][1], json=body)
            if r.status_code != 422 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        if r.status_code != 201:  # once more, counted: the summary shows why
            again = await sim.call("media post", "POST", f"{sim.urls.forum}/threads", shots[0][1],
                                   json=body)  # fmt: skip
            return None if again is None else str(again.json()["thread_id"])
        thread_id = str(r.json()["thread_id"])
        await sim.call("read media post", "GET", f"{sim.urls.forum}/threads/{thread_id}")
        return thread_id
    return None
