"""Replica readiness (core/health.py, ``GET /healthz`` in serve.py, ``python -m core.health``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import health as health_module
from core.health import health
from core.settings import PROJECT_ROOT, get_settings


def _run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to its end in a thread of its own (the session's Playwright browser may keep an
    event loop running in this one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_a_replica_with_its_folder_and_a_verified_chest_model_is_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRDC_REPLICA", "replica-7")
    report = health()
    assert report.ok and report.replica == "replica-7"
    assert report.checks["data_dir"][0] and report.checks["chest_model"] == (True, "starter-nih14-efficientnet-lite0")
    assert report.checks["store"] == (True, "local files")
    assert not list((tmp_path / "data").iterdir())  # the write probe leaves nothing behind


def test_an_unwritable_data_folder_or_a_failing_check_makes_it_not_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("DRDC_DATA_DIR", str(blocker / "data"))  # under a file: cannot be created
    report = health()
    assert not report.ok and not report.checks["data_dir"][0]

    monkeypatch.setenv("DRDC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(health_module, "_store", lambda _s: (_ for _ in ()).throw(ConnectionRefusedError()))
    report = health(get_settings())
    assert not report.ok and report.checks["store"] == (False, "ConnectionRefusedError")


def test_the_route_answers_503_when_not_ready_and_the_cli_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import serve

    monkeypatch.setattr(health_module, "_store", lambda _s: (False, "unreachable"))
    response = _run(serve.healthz(None))  # type: ignore[arg-type]
    assert response.status_code == 503 and json.loads(response.body)["checks"]["store"] == [False, "unreachable"]
    assert response.headers["cache-control"] == "no-store"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for data_dir, code in ((tmp_path / "a" / "b", 0), (blocker / "data", 1)):
        done = subprocess.run([sys.executable, "-m", "core.health"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=60, env={"DRDC_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"})
        assert done.returncode == code and json.loads(done.stdout)["ok"] is (code == 0), done.stderr


def test_metrics_gives_the_slots_and_the_server_side_analysis_times(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from starlette.requests import Request

    import serve
    from core import metrics

    timings = metrics.Timings()
    monkeypatch.setattr(metrics, "_ANALYSES", timings)
    monkeypatch.setattr(serve, "analysis_timings", metrics.analysis_timings)
    timings.add(5.0)
    mark = time.time()
    timings.add(0.25)

    def get(query: bytes):  # type: ignore[no-untyped-def]
        request = Request({"type": "http", "method": "GET", "path": "/metrics", "headers": [], "query_string": query})
        return _run(serve.metrics(request))

    body = json.loads(get(f"since={mark}".encode()).body)
    assert body["analyses"]["kept"] == 1 and body["analyses"]["max"] == 0.25
    assert body["slots"]["size"] >= 1 and body["replica"]
    assert json.loads(get(b"").body)["analyses"]["max"] == 5.0
    assert get(b"since=yesterday").status_code == 400


def test_a_replica_on_postgresql_checks_that_the_database_answers(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.storage import postgres
    from tests.postgres_server import fresh_schema_url

    monkeypatch.setenv("DRDC_DB_URL", fresh_schema_url(postgres_url))
    try:
        report = health()
        assert report.ok and report.checks["store"] == (True, "postgresql")
    finally:
        postgres.close_pools()
