"""Where a browser's time goes on the chest result page: one real chromium session (Playwright) on one
replica, uploading demo films one after another, measured with the Chrome DevTools Protocol.

    python -m bench.bench_page               # 5 films
    python -m bench.bench_page --films 3 --top 15

Prints, per film: the wall time from upload until the page is idle, the browser's main-thread work
(``Performance.getMetrics``: task, script, layout and style durations), the DOM nodes added, and the
functions with the most self time in the JavaScript sampling profiler over the whole run. It answers
"what does the front end cost per result page" (docs/deploy.md); ``bench_load`` measures many users.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_load import ARGS, CHROMIUM, FILMS, IDLE_JS, POLL_MS, SHOWN_JS
from core.i18n import t
from deploy.local import cluster, nginx_binary

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "Nodes")


async def _measure(url: str, films: list[Path]) -> tuple[list[float], dict[str, float], dict[str, Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(300_000)
        cdp = await context.new_cdp_session(page)
        await cdp.send("Performance.enable")
        await page.goto(url + "/chest")
        await page.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached")
        await page.wait_for_function(IDLE_JS, polling=POLL_MS)
        await asyncio.sleep(1.0)

        async def metrics() -> dict[str, float]:
            return {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}

        before = await metrics()
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        await cdp.send("Profiler.start")
        walls = []
        for k, film in enumerate(films, start=1):
            start = time.perf_counter()
            await page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(film))
            await page.wait_for_function(SHOWN_JS, arg=t("chest.batch.title", "en", n=k), polling=POLL_MS)
            walls.append(time.perf_counter() - start)
        profile = (await cdp.send("Profiler.stop"))["profile"]
        after = await metrics()
        await browser.close()
    return walls, {k: after[k] - before[k] for k in METRICS}, profile


def self_times(profile: dict[str, Any]) -> collections.Counter[tuple[str, str]]:
    """Self time (ms) per (function, script file) of a CDP ``Profiler.stop`` profile."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    out: collections.Counter[tuple[str, str]] = collections.Counter()
    for node, dt in zip(profile["samples"], profile["timeDeltas"], strict=False):
        frame = nodes[node]
        out[(frame["functionName"] or "(anonymous)", frame["url"].rsplit("/", 1)[-1][:48])] += dt / 1000.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_page", description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=5, help="demo films uploaded one after another")
    parser.add_argument("--top", type=int, default=12, help="functions to list by self time")
    args = parser.parse_args(argv)
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("skipped: playwright is not installed (pip install -r requirements-dev.txt)")
        return 0
    if nginx_binary() is None or not Path(CHROMIUM).exists() or not FILMS:
        print(f"skipped: needs nginx ({nginx_binary()}), chromium at {CHROMIUM} and the demo films")
        return 0
    films = [FILMS[i % len(FILMS)] for i in range(max(1, args.films))]
    root = Path(tempfile.mkdtemp(prefix="drdc-page-"))
    try:
        with cluster(root, 1) as running:
            walls, used, profile = asyncio.run(_measure(running.url, films))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(films)
    print(f"{n} films, one browser, 1 replica: wall per film " + ", ".join(f"{w:.2f}" for w in walls)
          + " s (the first includes loading the models)")
    print("browser main thread per film: " + ", ".join(
        f"{k} {used[k] / n * (1 if k == 'Nodes' else 1000):.0f}{'' if k == 'Nodes' else ' ms'}" for k in METRICS))
    times = self_times(profile)
    busy = sum(v for (name, _), v in times.items() if name not in ("(idle)",))
    print(f"JS profiler: {busy / n:.0f} ms busy per film; most self time:")
    busy_only = collections.Counter({k: v for k, v in times.items() if k[0] != "(idle)"})
    for (name, script), ms in busy_only.most_common(args.top):
        print(f"  {ms / n:7.1f} ms/film  {name}  {script}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
