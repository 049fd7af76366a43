"""Cold start and resident memory of the app server.

Cold start = from launching `streamlit run app.py` to the home page's title being visible in a
real browser (Debian's chromium via Playwright). Then every page is visited once and the
server's resident memory (VmRSS/VmHWM of the server process) is printed after each.

    python -m bench.bench_startup [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from core.i18n import t

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["chest", "shoulder", "scalp", "community", "models"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of ``pid`` in MiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_run(pw, visit_pages: bool) -> dict[str, float]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="drdc-bench-")
    env = {**os.environ, "DRDC_DATA_DIR": data, "STREAMLIT_SERVER_HEADLESS": "true"}
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    figures: dict[str, float] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1):  # noqa: S310 (loopback)
                    break
            except OSError:
                time.sleep(0.05)
        figures["server_ready_s"] = time.perf_counter() - start
        page.goto(url)
        page.get_by_text(t("app.home.welcome", "en")).wait_for(timeout=120_000)
        figures["first_page_s"] = time.perf_counter() - start
        figures["rss_after_home_mib"], _ = rss_mib(proc.pid)
        if visit_pages:
            for name in PAGES:
                t0 = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_text(t(f"app.page.{name}", "en"), exact=True).click()
                page.get_by_role("heading", name=t(f"app.page.{name}", "en")).first.wait_for(timeout=120_000)
                figures[f"page_{name}_s"] = time.perf_counter() - t0
                figures[f"rss_after_{name}_mib"], figures["peak_rss_mib"] = rss_mib(proc.pid)
    finally:
        browser.close()
        proc.terminate()
        proc.wait(timeout=20)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as pw:
        for i in range(args.runs):
            runs.append(one_run(pw, visit_pages=(i == args.runs - 1)))
    print(f"machine: {os.cpu_count()} cores; runs: {args.runs}")
    print(f"{'figure':<28}{'median':>10}{'min':>10}{'max':>10}")
    for key in runs[-1]:
        values = [r[key] for r in runs if key in r]
        print(f"{key:<28}{statistics.median(values):>10.2f}{min(values):>10.2f}{max(values):>10.2f}")


if __name__ == "__main__":
    main()
