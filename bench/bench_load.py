"""Many people analysing chest films at once: N real browser sessions (Playwright contexts in Debian's
chromium) against replicas behind nginx, each uploading films one after another on the chest page.

    python -m bench.bench_load                                # 5 users x 6 films, 1 replica, then 2
    python -m bench.bench_load --users 20 --films 3 --replicas 1
    python -m bench.bench_load --env DRDC_ANALYSIS_SLOTS=2     # a setting for the replicas

Per analysis: the time from a film's upload until the page shows it analysed (its row in the batch
table, the script idle again), as a person waits for it; and the replicas' own server-side record of
the same runs (``GET /metrics``: waiting for a slot + analysis + building the page, without the
browser's drawing). Prints p50/p95, films per minute over the whole run, how often a session saw the
"waiting for a free analysis slot" notice, the replicas' resident memory per session, and errors (an
exception on the page, a refusal, a timeout). Every upload is a new file (the demo films, each copy
with its own PNG text chunk): the same bytes again would be the session's kept result.

Everything runs on this machine, and the browsers' drawing (Streamlit's React front end: about 0.5 s
of CPU per result page, 1 s under load) would otherwise compete with the replicas for the same cores,
which users at their own computers never do. So the browsers get the lowest CPU priority (their
scheduling group, see :func:`_to_background`), except the first ``--observed`` users' (default 1),
whose browser runs at normal priority as on the person's own computer: their times are also printed
apart (``observed_*``). ``--browsers-first`` gives every browser normal priority. The CPU seconds per
film of the replicas (with their decode workers) and of everything else on the machine (browsers,
Playwright, nginx) say how the time splits; the server's capacity is about (cores x 60) / server CPU
seconds per film, films per minute.
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
# textContent, not innerText: innerText makes the browser lay the page out again on every check, work a
# person's browser never does (it was a third of the browsers' CPU per film under load)
IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
           " || !document.querySelector('[data-testid=\"stStatusWidget\"]').textContent.match(/Running|실행/)")
# the film's batch heading is on the page and the script is idle (one cheap check: Playwright's role
# selectors compute the accessibility tree of the whole page on every try)
SHOWN_JS = ("(title) => [...document.querySelectorAll('h1, h2, h3, h4')].some(h => h.textContent.trim() === title)"
            " && (" + IDLE_JS + ")()")
POLL_MS = 50  # how often the bench checks the page (Playwright's default polls on every animation frame)


@dataclass
class Session:
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waited: int = 0


async def _user(browser, url: str, index: int, films: list[Path], timeout_s: float, out: Session,  # type: ignore[no-untyped-def]
                route: str | None = None, reduced_motion: bool = False) -> None:
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900},
                                        reduced_motion="reduce" if reduced_motion else "no-preference")
    await context.add_cookies([{"name": "drdc_route", "value": route or f"load-user-{index}", "url": url}])
    page = await context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    page.on("pageerror", lambda exc: out.errors.append(f"page error: {exc}"))
    # remember whether the "waiting for a free analysis slot" notice was ever on screen (it goes away)
    marks = [t("chest.queue.waiting", "en", ahead=1)[:30], t("chest.queue.next", "en")[:30]]
    await page.add_init_script(
        "window.__waited = 0; new MutationObserver(() => { const s = document.body ? document.body.textContent : '';"
        f" if ({marks!r}.some(m => s.includes(m))) window.__waited += 1; }})"
        ".observe(document, {childList: true, subtree: true, characterData: true});")
    try:
        await page.goto(url + "/chest")
        await page.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached")
        await page.wait_for_function(IDLE_JS, polling=POLL_MS)
        for k, film in enumerate(films, start=1):
            start = time.perf_counter()
            await page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(film))
            await page.wait_for_function(SHOWN_JS, arg=t("chest.batch.title", "en", n=k), polling=POLL_MS)
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


def _machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (every process: the browsers' renderers come and
    go with their pages, so counting them by process misses the ones that ended)."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")))


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            continue
    return total / 2**20


def _chromium_pids() -> set[int]:
    """The chromium processes among this process's descendants (one that ends while looked at is skipped)."""
    pids = set()
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in proc.name().lower():
                pids.add(proc.pid)
    return pids


def _autogroup(pid: int) -> str | None:
    """The scheduling group line of process ``pid`` (e.g. ``/autogroup-12 nice 0``), or None where
    autogroup does not apply to it: a kernel without it, autogroup switched off, or a process in a
    cgroup of its own (containers, CI runners), where the file exists but reads empty."""
    try:
        line = Path(f"/proc/{pid}/autogroup").read_text(encoding="ascii").strip()
    except OSError:
        return None
    return line or None


def _to_background(pids: set[int]) -> str:
    """Give the browser processes ``pids`` the lowest CPU priority, so that the replicas get the CPU
    first. Nice alone does not do it: chromium sets its own processes' nice values, and the browser
    runs in a session of its own, which Linux schedules as a separate group (autogroup) whose weight
    against the replicas' group is set by ``/proc/<pid>/autogroup``, not by the processes' nice. Returns
    what took effect: ``autogroup`` (the browser's groups at nice 19: processes it starts later join
    them), ``nice`` (only the processes running now: chromium sets its later renderers' nice itself, so
    the lowering is partial there) or ``none``."""
    done = "none"
    for pid in pids:
        if _autogroup(pid) is not None:
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/autogroup").write_text("19", encoding="ascii")
            if (_autogroup(pid) or "").split()[-1:] == ["19"]:
                done = "autogroup"
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).nice(19)
            done = "nice" if done == "none" else done
    return done


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


async def _run(url: str, users: int, films: int, timeout_s: float, pids: list[int], warm_routes: list[str],
               folder: Path, background: bool = True, observed: int = 0, reduced_motion: bool = False,
               ) -> dict[str, float | int | str]:
    """Measure ``users`` sessions; with ``background`` their browser gets the lowest CPU priority, except
    the first ``observed`` users', whose browser runs at normal priority."""
    from playwright.async_api import async_playwright

    chosen = _distinct_films(folder, films)
    async with async_playwright() as pw:
        before = _chromium_pids()
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        priority = _to_background(_chromium_pids() - before) if background else "normal"
        # the observed people's browser is not niced: it gets the CPU ahead of the others' browsers, as a
        # browser on the person's own computer would (it still competes with the replicas here)
        front = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS) if observed else browser
        warm = Session()  # one visit first, not counted: the models load once per replica process
        await asyncio.gather(*[_user(browser, url, 1000 + i, chosen[:1], timeout_s, warm, route, reduced_motion)
                               for i, route in enumerate(warm_routes)])
        before = _rss_mib(pids)
        since = time.time()
        cpu_server, cpu_machine = _cpu_s(pids), _machine_cpu_s()
        sessions = [Session() for _ in range(users)]
        start = time.perf_counter()
        await asyncio.gather(*[
            _user(front if i < observed else browser, url, i, chosen[i % len(chosen):] + chosen[: i % len(chosen)],
                  timeout_s, s, reduced_motion=reduced_motion)
            for i, s in enumerate(sessions)
        ])
        wall = time.perf_counter() - start
        after = _rss_mib(pids)
        cpu_server, cpu_machine = _cpu_s(pids) - cpu_server, _machine_cpu_s() - cpu_machine
        if front is not browser:
            await front.close()
        await browser.close()
    times = sorted(x for s in sessions for x in s.seconds)
    seen = sorted(x for s in sessions[:observed] for x in s.seconds)
    errors = [e for s in sessions for e in s.errors]
    return {
        "measured_since": since, "browsers_priority": priority,
        "analyses": len(times), "expected": users * films, **_quantiles(times, ""),
        **(_quantiles(seen, "observed_") if observed else {}),
        "films_per_min": round(len(times) / wall * 60, 1), "wall_s": round(wall, 1),
        "server_cpu_s_per_film": round(cpu_server / max(1, len(times)), 3),
        "browsers_cpu_s_per_film": round(max(0.0, cpu_machine - cpu_server) / max(1, len(times)), 3),
        "machine_busy_pct": round(100 * cpu_machine / (wall * (psutil.cpu_count() or 1))),
        "waited": sum(s.waited for s in sessions), "errors": len(errors),
        "rss_mib_before": round(before), "rss_mib_after": round(after),
        "mib_per_session": round((after - before) / users, 1),
        "first_errors": "; ".join(errors[:3]),
    }


def _distinct_films(folder: Path, n: int) -> list[Path]:
    """``n`` films for one person: the demo films in turn, each copy with its own PNG text chunk, so
    that every upload is new to the server (the same bytes again would be the session's kept result,
    not an analysis) while the pixels, and so the work, stay those of the demo film."""
    from PIL import Image, PngImagePlugin

    out = []
    for k in range(n):
        info = PngImagePlugin.PngInfo()
        info.add_text("bench-copy", str(k))
        path = folder / f"{k:03d}-{FILMS[k % len(FILMS)].name}"
        with Image.open(FILMS[k % len(FILMS)]) as img:
            img.save(path, pnginfo=info)
        out.append(path)
    return out


def _quantiles(times: list[float], prefix: str) -> dict[str, float | int | str]:
    """p50, p95 (inclusive method) and max of ``times`` in seconds, keys prefixed; "-" when empty."""
    if not times:
        return {f"{prefix}p50_s": "-", f"{prefix}p95_s": "-", f"{prefix}max_s": "-"}
    q = statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2 else times * 19
    out: dict[str, float | int | str] = {f"{prefix}p50_s": round(statistics.median(times), 2),
                                         f"{prefix}p95_s": round(q[18], 2), f"{prefix}max_s": round(max(times), 2)}
    if prefix:
        out[f"{prefix}n"] = len(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--films", type=int, default=6, help="films each user analyses, one after another (each a new file)")
    parser.add_argument("--replicas", type=int, action="append", help="replica counts to measure (default: 1 and 2)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one step may take before it counts as an error")
    parser.add_argument("--browsers-first", action="store_true",
                        help="run the browsers at normal priority (default: lowest, so that the replicas get the "
                             "CPU first, as when the users sit at their own machines)")
    parser.add_argument("--reduced-motion", action="store_true",
                        help="the browsers ask for reduced motion (no fades or spinners: less browser CPU on the "
                             "shared cores; the server does the same work)")
    parser.add_argument("--observed", type=int, default=1,
                        help="users whose browser runs at normal priority, as on their own computer (their times are "
                             "also given apart as observed_*; 0: every browser at the same priority)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for the replicas, e.g. DRDC_ANALYSIS_SLOTS=2 (repeatable)")
    args = parser.parse_args(argv)
    bad = [item for item in args.env if "=" not in item or not item.split("=", 1)[0]]
    if bad:
        parser.error(f"--env takes KEY=VALUE, got {bad[0]!r}")
    env = dict(item.split("=", 1) for item in args.env)
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("skipped: playwright is not installed (pip install -r requirements-dev.txt)")
        return 0
    if nginx_binary() is None or not Path(CHROMIUM).exists():
        print(f"skipped: needs nginx ({nginx_binary()}) and chromium at {CHROMIUM}")
        return 0
    print(f"{args.users} simultaneous users x {args.films} films each; {psutil.cpu_count()} CPU cores; "
          f"browsers on the same machine, {'normal priority' if args.browsers_first else 'lowest priority'}"
          + (", asking for reduced motion" if args.reduced_motion else "")
          + (f"; {min(args.users, args.observed)} observed at normal priority" if args.observed and not args.browsers_first else "")
          + (f"; replicas with {' '.join(args.env)}" if args.env else ""))
    for replicas in args.replicas or [1, 2]:
        root = Path(tempfile.mkdtemp(prefix="drdc-load-"))
        try:
            with cluster(root, replicas, env) as running:
                pids = [p.pid for p in psutil.Process().children() if "serve.py" in " ".join(p.cmdline())]
                routes = list(running.routes_per_replica().values())
                observed = min(args.users, args.observed) if not args.browsers_first else 0
                films = root / "films"
                films.mkdir()
                figures = asyncio.run(_run(running.url, args.users, args.films, args.timeout, pids, routes, films,
                                           not args.browsers_first, observed, args.reduced_motion))
                figures.update(_server_side(running.replicas, figures.pop("measured_since")))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"replicas {replicas}: " + ", ".join(f"{k} {v}" for k, v in figures.items() if v != ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
