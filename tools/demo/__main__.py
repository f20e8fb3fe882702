"""``make demo`` / ``python -m tools.demo``: a living community through the public APIs.

    python -m tools.demo --rate 20 --duration 60 --seed 7

Base URLs default to `make up`'s ports and can be overridden (``--forum-url`` ... or
``DEMO_FORUM_URL`` ...). Tokens are signed with ``COMMUNITY_JWT_SECRET`` (the services'
default when unset), so the services accept them. Exit status 1 when any request failed
unexpectedly (``--allow-errors`` turns that off).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from communitykit.settings import ServiceSettings

from . import gathering
from . import media as media_scene
from .plan import community, make_plan
from .sim import Simulator, Tally, Urls

#: the /overview figures the summary quotes (when the analytics service reports them)
OVERVIEW_FIGURES = (
    "active_users",
    "questions",
    "response_rate",
    "solution_rate",
    "escalation_rate",
    "ttfr_median_seconds",
    "health_score",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=float(os.environ.get("DEMO_RATE", 15)),
                   help="user actions per second (default 15)")  # fmt: skip
    p.add_argument("--duration", type=float, default=float(os.environ.get("DEMO_DURATION", 60)),
                   help="seconds of traffic (default 60)")  # fmt: skip
    p.add_argument("--seed", type=int, default=int(os.environ.get("DEMO_SEED", 7)))
    p.add_argument("--users", type=int, default=int(os.environ.get("DEMO_USERS", 120)),
                   help="community members besides support and staff (default 120)")  # fmt: skip
    p.add_argument("--prefix", default=os.environ.get("DEMO_PREFIX", ""),
                   help="prepended to every user name (separate communities per run)")  # fmt: skip
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    p.add_argument("--allow-errors", action="store_true", help="exit 0 even with errors")
    p.add_argument("--no-gathering", action="store_true",
                   help="skip the gathering (RSVPs, guest, check-in, giveaway)")  # fmt: skip
    p.add_argument("--no-media", action="store_true",
                   help="skip the media galleries (uploads, galleries, a media post)")  # fmt: skip
    for name, url in vars(Urls()).items():
        p.add_argument(f"--{name}-url", default=os.environ.get(f"DEMO_{name.upper()}_URL", url))
    return p.parse_args(argv)


def secret() -> str:
    """The services' own setting (COMMUNITY_JWT_SECRET, else their default)."""
    return ServiceSettings().jwt_secret


async def summary_data(sim: Simulator, settle: float) -> dict[str, Any]:
    """The leaderboard's top 5 and the analytics overview, once the projections caught up
    (polled for up to ``settle`` seconds)."""
    urls = sim.urls
    out: dict[str, Any] = {"leaderboard": [], "overview": {}}
    deadline = time.monotonic() + settle
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            try:
                lb = (await http.get(f"{urls.reputation}/leaderboard", params={"limit": 5})).json()
                ov = (await http.get(f"{urls.analytics}/overview")).json()
                out = {"leaderboard": lb.get("items", []), "overview": ov}
            except (httpx.HTTPError, ValueError) as e:
                out["unavailable"] = repr(e)
            if out["leaderboard"] or time.monotonic() > deadline:
                return out
            await asyncio.sleep(1)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat |= _flat(v, f"{prefix}{k}.")
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def report(console: Console, tally: Tally, took: float, extra: dict[str, Any], urls: Urls) -> None:
    t = Table(title=f"requests by kind ({took:.0f} s)")
    for col in ("kind", "requests", "ok", "throttled", "errors", "p50 ms", "p95 ms"):
        t.add_column(col, justify="left" if col == "kind" else "right")
    for kind, n in sorted(tally.requests.items(), key=lambda kv: -kv[1]):
        lat = sorted(tally.latencies.get(kind, [0.0]))
        errs = sum(v for k, v in tally.errors.items() if k.rsplit(" ", 1)[0] == kind)
        t.add_row(kind, str(n), str(tally.ok[kind]), str(tally.throttled[kind]), str(errs),
                  f"{statistics.median(lat) * 1000:.0f}",
                  f"{lat[min(len(lat) - 1, int(0.95 * len(lat)))] * 1000:.0f}")  # fmt: skip
    console.print(t)
    total = sum(tally.requests.values())
    console.print(
        f"{total} requests, {total / took:.1f}/s; errors: {tally.total_errors}; "
        f"throttled: {sum(tally.throttled.values())}; questions answered by search instead "
        f"of asked: {tally.deflected}; steps skipped (target never created): "
        f"{sum(tally.skipped.values())}; already made by an earlier run on this store: "
        f"{sum(tally.repeated.values())}"
    )
    for k, v in tally.errors.items():
        console.print(f"  [red]error[/red] {k}: {v}")
    for s in tally.error_samples:
        console.print(f"    {s}")
    lb = Table(title="leaderboard: top 5")
    for col in ("#", "user", "reputation", "level"):
        lb.add_column(col)
    for i, item in enumerate(extra.get("leaderboard", [])[:5], 1):
        lb.add_row(str(i), str(item.get("user_id")), str(item.get("reputation")),
                   str(item.get("level_name", item.get("level"))))  # fmt: skip
    console.print(lb)
    flat = _flat(extra.get("overview", {}))
    figures = {k: v for k, v in flat.items() if k.rsplit(".", 1)[-1] in OVERVIEW_FIGURES}
    if figures:
        shown = [f"{k} = {round(v, 3) if isinstance(v, float) else v}" for k, v in figures.items()]
        console.print("analytics overview (today): " + ", ".join(shown))
    if "unavailable" in extra:
        console.print(f"[yellow]summary data unavailable: {extra['unavailable']}[/yellow]")
    held = Table(title="notifications: what each member's budget held back, and why")
    for col in ("user", "opened one", "unread", "email cap (effective)", "held back by reason"):
        held.add_column(col)
    rows = sorted(extra.get("notifications", []), key=lambda r: -sum(r["held"].values()))
    for r in rows[:10]:
        held.add_row(
            r["user"], "yes" if r["read"] else "ignored", str(r["unread"]),
            f"{r['caps']['email_per_week']} ({r['effective']['email_per_week']})",
            ", ".join(f"{k} {v}" for k, v in sorted(r["held"].items())) or "-",
        )  # fmt: skip
    console.print(held)
    console.print(f"dashboard: [bold]{urls.analytics}/dashboard[/bold]")


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    urls = Urls(**{n: getattr(args, f"{n}_url").rstrip("/") for n in vars(Urls())})
    users = community(args.users, args.prefix)
    plan = make_plan(args.seed, max(1, int(args.rate * args.duration)), users)
    console = Console(stderr=False)
    console.print(
        f"demo: {len(plan)} user actions at {args.rate:g}/s, seed {args.seed}, "
        f"{len(users)} users (forum {urls.forum})"
    )
    sim = Simulator(urls, users, secret(), concurrency=args.concurrency)
    try:
        with Progress(
            TextColumn("[bold]community"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("errors: {task.fields[errors]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("steps", total=len(plan), errors=0)

            def advance() -> None:
                bar.update(task, advance=1, errors=sim.tally.total_errors)

            await sim.notification_preferences(users)
            took = await sim.run(plan, args.rate, advance)
        scene: dict[str, Any] | None = None
        if not args.no_gathering:
            if await gathering.reachable(urls.gatherings):
                console.print(
                    f"gathering: RSVPs, the guest, check-in, a giveaway ({urls.gatherings})"
                )
                scene = await gathering.run(sim, users, args.seed)
            else:
                console.print(
                    f"[yellow]gatherings not reachable at {urls.gatherings}: skipped[/yellow]"
                )
        shots: dict[str, Any] | None = None
        if not args.no_media:
            if await gathering.reachable(urls.media):
                console.print(f"media: photos, clips, galleries per product ({urls.media})")
                shots = await media_scene.run(sim, users, args.seed)
            else:
                console.print(f"[yellow]media not reachable at {urls.media}: skipped[/yellow]")
        extra = await summary_data(sim, settle=15)
        extra["notifications"] = await sim.read_some(users)
    finally:
        await sim.close()
    report(console, sim.tally, took, extra, urls)
    failed = False
    if scene is not None:
        console.print("gathering: " + ", ".join(f"{k} = {v}" for k, v in scene.items()))
        failed = scene.get("verified") != "yes"
    if shots is not None:
        console.print("media: " + ", ".join(f"{k} = {v}" for k, v in shots.items()))
        console.print(f"galleries: [bold]{urls.media}/galleries[/bold] (each has a /view page)")
        failed = failed or shots.get("verified") != "yes"
    return 1 if (sim.tally.total_errors or failed) and not args.allow_errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
