"""Two app replicas behind nginx, used from a real browser (issue 17): every request of one browser
reaches the same replica (its WebSocket session and its uploads live there), so a person on either
replica uploads a film and gets the analysis; the proxy's readiness route answers for both.

Replicas and nginx run as plain processes (tests/scaleout/cluster.py); skipped without nginx
(``.ci/run`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.i18n import t
from core.settings import PROJECT_ROOT
from deploy.local import Cluster, cluster, nginx_binary
from tests.browser.conftest import shot, wait_for_app

FILM = PROJECT_ROOT / "assets" / "demo" / "chest" / "nih-00005425_000.png"


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    with cluster(tmp_path_factory.mktemp("replicas"), 2) as running:
        yield running


def test_the_proxy_reaches_both_replicas_and_a_route_stays_on_one(two: Cluster) -> None:
    routes = two.routes_per_replica()
    assert sorted(routes) == sorted(two.names)
    for name, route in routes.items():
        seen = {two.replica_of(route) for _ in range(8)}
        assert seen == {name}
        status, headers, body = two.get("/healthz", route)
        assert status == 200 and b'"ok": true' in body
        assert headers.get("X-DRDC-Upstream") in {u.removeprefix("http://") for u in two.replicas}
    status, headers, _ = two.get("/healthz")  # a browser's first request gets its route cookie
    assert status == 200 and "drdc_route=" in headers.get("Set-Cookie", "")


def test_a_person_on_each_replica_uploads_a_film_and_gets_the_analysis(two: Cluster, browser) -> None:
    for name, route in two.routes_per_replica().items():
        context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "drdc_route", "value": route, "url": two.url}])
        page = context.new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        try:
            with page.expect_response(lambda r: r.url.rstrip("/") == two.url) as first:
                page.goto(two.url)
            assert first.value.headers.get("x-drdc-upstream") in {u.removeprefix("http://") for u in two.replicas}
            wait_for_app(page)
            page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
            wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.chest", "en"), exact=True).click()
            wait_for_app(page)
            page.locator("input[type=file]").first.set_input_files(str(FILM))
            wait_for_app(page)
            page.get_by_role("heading", name=t("chest.findings.title", "en"), exact=True).wait_for(timeout=120_000)
            assert page.get_by_test_id("stException").count() == 0
            shot(page, f"replica_chest_{name}")
            assert two.replica_of(route) == name  # still the same replica after the whole visit
            assert not errors, errors
        finally:
            context.close()
