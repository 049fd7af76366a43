"""Real-browser fixtures: a Streamlit server on a free local port, and Playwright on Debian's chromium.

Tests here are marked ``browser``; they skip with a clear reason when chromium or Playwright is
absent (``.ci/run`` installs chromium). Screenshots go to ``tests/out/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DRDC_CHROMIUM", "/usr/bin/chromium")
OUT_DIR = ROOT / "tests" / "out"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


@contextlib.contextmanager
def serve_app(data: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free loopback port with its data in ``data`` (plus
    ``extra_env``); yields its base URL once healthy, and stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DRDC_DATA_DIR": str(data),
        "DRDC_DB_PATH": str(data / "board.sqlite3"),
        "DRDC_ADMIN_SECRET": "browser-test-secret",
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(extra_env or {}),
    }
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a fresh app server with its own temporary data folder."""
    with serve_app(tmp_path_factory.mktemp("browser-data")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def page(browser) -> Iterator[object]:
    """A fresh browser page (Korean locale, 1400x1000) with console errors collected in ``page.errors``."""
    context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))  # type: ignore[attr-defined]
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


def shot(pg, name: str) -> Path:
    """Save a full-page screenshot under tests/out/ and return its path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(pg) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    pg.wait_for_selector("[data-testid='stApp']", state="attached")
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|실행/)",
        timeout=120_000,
    )
    pg.wait_for_timeout(300)


REFUSAL = "[data-testid='stAlertContentError'], [data-testid='stAlertContentWarning'], [data-testid='stException']"


def click_until(pg, button, done_js: str, arg: object = None, *, name: str, timeout_ms: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Click ``button`` (a form's submit button, or any button that reruns the app) and wait until
    ``done_js(arg)`` is true in the page.

    Once in CI (one run in dozens) a click on a form's submit button left the page untouched: no
    rerun, no result, no refusal, the form still there. A person would click again, and so does this
    helper, once, after saving a screenshot ``<name>-attempt-1``. A refusal (an error or warning box,
    an exception) or a still-running script is never retried: the assertion names what the page shows.
    """
    for attempt in (1, 2):
        button.click()
        try:
            pg.wait_for_function(done_js, arg=arg, timeout=timeout_ms * attempt)
            return
        except Exception as exc:
            wait_for_app(pg)  # a slow run still under way is not "untouched"
            if pg.evaluate(done_js, arg):
                return
            shot(pg, f"{name}-attempt-{attempt}")
            alerts = [a.text_content() or "" for a in pg.get_by_test_id("stAlert").all()]
            errors = [e.text_content() or "" for e in pg.get_by_test_id("stException").all()]
            untouched = pg.locator(REFUSAL).count() == 0 and button.is_visible()
            if attempt == 2 or not untouched:
                raise AssertionError(f"{name}: no result; alerts: {alerts}; exceptions: {errors}") from exc
