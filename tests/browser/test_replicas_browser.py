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


# ----------------------------------------------------------------------------- one PostgreSQL behind both


@pytest.fixture(scope="module")
def two_on_postgres(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    """Two replicas behind nginx sharing one PostgreSQL database (a fresh schema), as compose.yaml."""
    from tests.postgres_server import fresh_schema_url

    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    with cluster(tmp_path_factory.mktemp("replicas-pg"), 2, {"DRDC_DB_URL": fresh_schema_url(postgres_url)}) as running:
        yield running


def _move(context, two: Cluster, route: str) -> None:  # type: ignore[no-untyped-def]
    """Send this browser's next requests to the replica of ``route`` (as when nginx moves a user after
    a replica restarts); its other cookies (the board's visitor cookie) stay."""
    context.add_cookies([{"name": "drdc_route", "value": route, "url": two.url}])


def test_a_post_made_on_one_replica_is_read_on_the_other_and_a_like_counts_once(two_on_postgres: Cluster, browser) -> None:
    from tests.browser.test_board_browser import LANG, _like_button, _open_post, _publish, _tab

    two = two_on_postgres
    routes = two.routes_per_replica()
    first, second = (routes[name] for name in two.names)
    title = "복제 서버 시험 글"
    author = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    reader = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    try:
        _move(author, two, first)
        pg = _tab(author)
        pg.goto(f"{two.url}/community")
        wait_for_app(pg)
        _publish(pg, title, "한 서버에 쓴 글이 다른 서버에서도 보입니다", password="author-pw", nickname="복제시험")
        assert two.replica_of(first) == two.names[0]

        _move(reader, two, second)  # another person, on the other replica, reads it and likes it
        other = _tab(reader)
        _open_post(other, two.url, title)
        _like_button(other, "board.like.do", 0).click()
        _like_button(other, "board.like.undo", 1).wait_for()
        shot(other, "replicas_post_read_on_replica_2")

        _move(reader, two, first)  # the same person, now sent to the first replica: still one like
        again = _tab(reader)
        _open_post(again, two.url, title)
        _like_button(again, "board.like.undo", 1).wait_for()
        assert _like_button(again, "board.like.do", 1).count() == 0
        assert again.get_by_text(t("board.like.undo", LANG, count=2)).count() == 0
        assert not (pg.errors or other.errors or again.errors), (pg.errors, other.errors, again.errors)
    finally:
        author.close()
        reader.close()


def test_the_post_rate_limit_holds_across_replicas(two_on_postgres: Cluster, browser) -> None:
    """A visitor may publish 3 posts a minute (core/board/config.py): two on one replica and one on the
    other use it up, and a fourth is refused, wherever it is sent (the database counts, not a process)."""
    from tests.browser.test_board_browser import LANG, _form, _open_expander, _publish, _tab

    two = two_on_postgres
    routes = two.routes_per_replica()
    first, second = (routes[name] for name in two.names)
    context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    try:
        for i, route in enumerate((first, first, second)):
            _move(context, two, route)
            pg = _tab(context)
            pg.goto(f"{two.url}/community")
            wait_for_app(pg)
            _publish(pg, f"속도 제한 시험 {i + 1}", "한도는 서버가 아니라 데이터베이스가 셉니다", password="author-pw", nickname="한도시험")
            pg.close()
        _move(context, two, first)
        pg = _tab(context)
        pg.goto(f"{two.url}/community")
        wait_for_app(pg)
        _open_expander(pg, "board.write.open")
        form = _form(pg, "board.write.submit")
        form.get_by_label(t("board.field.title", LANG), exact=True).fill("속도 제한 시험 4")
        form.get_by_label(t("board.field.body", LANG), exact=True).fill("네 번째 글은 거절됩니다")
        form.get_by_label(t("board.field.nickname", LANG), exact=True).fill("한도시험")
        form.get_by_label(t("board.field.password", LANG), exact=True).fill("author-pw")
        form.get_by_role("button", name=t("board.write.submit", LANG), exact=True).click()
        refused = t("board.error.rate_limited", LANG, seconds="{s}").split("{s}")[0].strip()
        pg.get_by_text(refused, exact=False).first.wait_for(timeout=60_000)
        shot(pg, "replicas_rate_limit_refused")
        assert two.replica_of(first) == two.names[0]
    finally:
        context.close()
