"""Many people analysing chest films at once: N real browser sessions (Playwright contexts in Debian's
chromium) against replicas behind nginx, each uploading films one after another on the chest page.

    python -m bench.bench_load                                # 5 users x 3 films, 1 replica, then 2
    python -m bench.bench_load --users 20 --films 2 --replicas 2

Per analysis: the time from a film's upload until the page shows it analysed (its row in the batch
table, the script idle again), as a person waits for it; and the replicas' own server-side record of
the same runs (``GET /metrics``: waiting for a slot + analysis + building the page, without the
browser's drawing). Prints p50/p95, films per minute over the
whole run, how often a session saw the "waiting for a free analysis slot" notice, the replicas'
resident memory per session, and errors (an exception on the page, a refusal, a timeout).

Everything runs on this machine: the browsers' rendering (Streamlit's React front end, about 0.4 s of
main-thread work per result page, more in raster threads) competes with the replicas for the same
cores. By default the browsers run at nice 19, so the replicas get the CPU first, as when each user
sits at their own machine; ``--browsers-first`` gives them normal priority. The CPU
seconds per film of the replicas (with their decode workers) and of the browsers say how the time
splits; the server's capacity is about (cores x 60) / server CPU seconds per film, films per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from core.i18n import t
from core.settings import PROJECT_ROOT
from deploy.local import cluster, nginx_binary

FILMS = sorted((PROJECT_ROOT / "assets" / "demo" / "chest").glob("nih-*.png"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
           " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|실행/)")


def _browser_pids() -> list[int]:
    """The browsers' main processes among this process's children (a child that ends while being
    looked at is skipped: chromium starts and ends helper processes all the time)."""
    pids = []
    for proc in psutil.Process().children(recursive=True):
        try:
            parent = proc.parent()
            if "chrom" in proc.name().lower() and (parent is None or "chrom" not in parent.name().lower()):
                pids.append(proc.pid)
        except psutil.Error:
            continue
    return pids


@dataclass
class Session:
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waited: int = 0


async def _user(browser, url: str, index: int, films: list[Path], timeout_s: float, out: Session,  # type: ignore[no-untyped-def]
                route: str | None = None) -> None:
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    await context.add_cookies([{"name": "drdc_route", "value": route or f"load-user-{index}", "url": url}])
    page = await context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    page.on("pageerror", lambda exc: out.errors.append(f"page error: {exc}"))
    # remember whether the "waiting for a free analysis slot" notice was ever on screen (it goes away)
    marks = [t("chest.queue.waiting", "en", ahead=1)[:30], t("chest.queue.next", "en")[:30]]
    await page.add_init_script(
        "window.__waited = 0; new MutationObserver(() => { const s = document.body ? document.body.innerText : '';"
        f" if ({marks!r}.some(m => s.includes(m))) window.__waited += 1; }})"
        ".observe(document, {childList: true, subtree: true, characterData: true});")
    try:
        await page.goto(url + "/chest")
        await page.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached")
        await page.wait_for_function(IDLE_JS)
        for k, film in enumerate(films, start=1):
            start = time.perf_counter()
            await page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(film))
            title = t("chest.batch.title", "en", n=k)
            await page.get_by_role("heading", name=title, exact=True).wait_for()
            await page.wait_for_function(IDLE_JS)
            out.seconds.append(time.perf_counter() - start)
            if await page.evaluate("window.__waited"):
                out.waited += 1
                await page.evaluate("window.__waited = 0")
            if await page.get_by_test_id("stException").count():
                out.errors.append(f"user {index}: exception shown after film {k}")
    except Exception as exc:  # noqa: BLE001 - a bench counts failures, it does not stop at the first
        out.errors.append(f"user {index}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    finally:
        await context.close()


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` and all their descendants, the ended ones
    included (a process's reaped children are counted in its ``children_*`` times)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    times = child.cpu_times()
                    total += times.user + times.system
        except psutil.Error:
            continue
    return total


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            continue
    return total / 2**20


def _browser_command(nice: bool, folder: Path) -> str:
    """The chromium to launch: itself, or a wrapper that starts it at the lowest CPU priority."""
    if not nice:
        return CHROMIUM
    wrapper = folder / "chromium-nice"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper)


def _server_side(replica_urls: list[str], since: float) -> dict[str, float | int | None]:
    """The replicas' own record of analysis times since ``since`` (``GET /metrics``), pooled: p50 and
    p95 of the per-replica figures weighted by count are not exact, so the worst replica's are given."""
    worst: dict[str, float | int | None] = {"server_p50_s": None, "server_p95_s": None, "server_analyses": 0}
    for base in replica_urls:
        with urllib.request.urlopen(f"{base}/metrics?since={since}", timeout=10) as resp:  # noqa: S310 - loopback
            got = json.loads(resp.read())["analyses"]
        worst["server_analyses"] = int(worst["server_analyses"] or 0) + int(got["kept"])
        for key, name in (("p50", "server_p50_s"), ("p95", "server_p95_s")):
            if got[key] is not None:
                worst[name] = round(max(float(worst[name] or 0.0), float(got[key])), 2)
    return worst


async def _run(url: str, users: int, films: int, timeout_s: float, pids: list[int],
               warm_routes: list[str], browser_path: str = CHROMIUM) -> dict[str, float | int | str]:
    from playwright.async_api import async_playwright

    chosen = [FILMS[(i % len(FILMS))] for i in range(films)]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_path, headless=True, args=ARGS)
        warm = Session()  # one visit first, not counted: the models load once per replica process
        await asyncio.gather(*[_user(browser, url, 1000 + i, chosen[:1], timeout_s, warm, route)
                               for i, route in enumerate(warm_routes)])
        before = _rss_mib(pids)
        since = time.time()
        browser_pids = _browser_pids()
        cpu_server, cpu_browser = _cpu_s(pids), _cpu_s(browser_pids)
        sessions = [Session() for _ in range(users)]
        start = time.perf_counter()
        await asyncio.gather(*[
            _user(browser, url, i, chosen[i % len(chosen):] + chosen[: i % len(chosen)], timeout_s, s)
            for i, s in enumerate(sessions)
        ])
        wall = time.perf_counter() - start
        after = _rss_mib(pids)
        cpu_server, cpu_browser = _cpu_s(pids) - cpu_server, _cpu_s(browser_pids) - cpu_browser
        await browser.close()
    times = sorted(x for s in sessions for x in s.seconds)
    errors = [e for s in sessions for e in s.errors]
    q = statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2 else times * 19
    return {
        "measured_since": since,
        "analyses": len(times), "expected": users * films, "p50_s": round(statistics.median(times), 2) if times else "-",
        "p95_s": round(q[18], 2) if times else "-", "max_s": round(max(times), 2) if times else "-",
        "films_per_min": round(len(times) / wall * 60, 1), "wall_s": round(wall, 1),
        "server_cpu_s_per_film": round(cpu_server / max(1, len(times)), 3),
        "browser_cpu_s_per_film": round(cpu_browser / max(1, len(times)), 3),
        "waited": sum(s.waited for s in sessions), "errors": len(errors),
        "rss_mib_before": round(before), "rss_mib_after": round(after),
        "mib_per_session": round((after - before) / users, 1),
        "first_errors": "; ".join(errors[:3]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--films", type=int, default=3, help="films each user analyses, one after another")
    parser.add_argument("--replicas", type=int, action="append", help="replica counts to measure (default: 1 and 2)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one step may take before it counts as an error")
    parser.add_argument("--browsers-first", action="store_true",
                        help="run the browsers at normal priority (default: nice 19, so that the replicas get the "
                             "CPU first, as when the users sit at their own machines)")
    args = parser.parse_args(argv)
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("skipped: playwright is not installed (pip install -r requirements-dev.txt)")
        return 0
    if nginx_binary() is None or not Path(CHROMIUM).exists():
        print(f"skipped: needs nginx ({nginx_binary()}) and chromium at {CHROMIUM}")
        return 0
    print(f"{args.users} simultaneous users x {args.films} films each; {psutil.cpu_count()} CPU cores; "
          f"browsers on the same machine, {'normal priority' if args.browsers_first else 'at nice 19'}")
    for replicas in args.replicas or [1, 2]:
        root = Path(tempfile.mkdtemp(prefix="drdc-load-"))
        try:
            with cluster(root, replicas) as running:
                pids = [p.pid for p in psutil.Process().children() if "serve.py" in " ".join(p.cmdline())]
                routes = list(running.routes_per_replica().values())
                browser_path = _browser_command(not args.browsers_first, root)
                figures = asyncio.run(_run(running.url, args.users, args.films, args.timeout, pids, routes, browser_path))
                figures.update(_server_side(running.replicas, figures.pop("measured_since")))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"replicas {replicas}: " + ", ".join(f"{k} {v}" for k, v in figures.items() if v != ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
