"""XSS payloads typed into the community board by a person in a real browser: no script runs,
no dialog opens, nothing is fetched from the payloads' hosts, and the text shows verbatim.
Then issue 16: a fresh session of the same browser gains no like and no admin-secret guess
(the signed visitor cookie), and a title or nickname that is a URL is not a link.

Every payload sets ``window.__xss`` (or opens a dialog, or loads http://evil...) if it ever
runs. All 109 payloads without links go into one post body; link payloads go into titles,
bodies and comments, within the board's spam limits (3 links a post, 2 a comment) and rate
limits (3 posts, 10 comments a minute per visitor).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.board.text import count_links
from core.i18n import t
from tests.browser.conftest import click_until, shot, wait_for_app

pytestmark = pytest.mark.browser

LANG = "ko"  # the page fixture's browser locale is ko-KR
PAYLOADS = [
    line
    for line in (Path(__file__).resolve().parents[1] / "board" / "payloads.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
PLAIN = [p for p in PAYLOADS if count_links(p) == 0]
LINKY = [p for p in PAYLOADS if count_links(p) == 1 and len(p) <= 100]
CHECK_JS = "() => ({xss: window.__xss === undefined ? null : window.__xss, parentXss: window.parent.__xss ?? null})"
INJECTED = ", ".join(
    f"[data-testid='stMain'] {sel}"
    for sel in (
        "[data-testid='stMarkdownContainer'] img",
        "[data-testid='stMarkdownContainer'] a[href^='javascript' i]",
        "[data-testid='stMarkdownContainer'] svg[onload]",
        "[data-testid='stMarkdownContainer'] iframe",
        "[data-testid='stMarkdownContainer'] script",
        "[onerror]",
        "[onload]",
        "img[src='x']",
    )
)


def _form(page, submit_key: str):  # type: ignore[no-untyped-def]
    """The form with this submit button, once the previous run's copy (if any) is gone."""
    forms = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=t(submit_key, LANG), exact=True))
    for _ in range(200):
        if forms.count() <= 1:
            break
        page.wait_for_timeout(100)
    return forms


def _assert_inert(page, seen_requests: list[str], dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(CHECK_JS) == {"xss": None, "parentXss": None}
    assert dialogs == []
    assert page.locator(INJECTED).count() == 0
    assert [u for u in seen_requests if "evil" in u] == []


def _open_expander(page, label_key: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stExpander").filter(has_text=t(label_key, LANG)).locator("summary").click()


HEADING_JS = "t => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].some(h => h.textContent.trim() === t)"
LIST_JS = "t => [...document.querySelectorAll(\"[data-testid='stExpander'] summary\")].some(e => e.textContent.includes(t))"
TITLE_SEL = "[class*='st-key-board_title_h_'] [data-testid='stText']"  # the open post's title (plain text)
CARD_TITLE_SEL = "[class*='st-key-board_title_card_'] [data-testid='stText']"
PUBLISHED_JS = f"t => [...document.querySelectorAll(\"{TITLE_SEL}\")].some(h => h.textContent.trim() === t)"


def _publish(page, title: str, body: str, password: str, nickname: str = "<b>닉</b>") -> None:  # type: ignore[no-untyped-def]
    if not _form(page, "board.write.submit").is_visible():
        _open_expander(page, "board.write.open")
    form = _form(page, "board.write.submit")
    form.get_by_label(t("board.field.title", LANG), exact=True).fill(title)
    form.get_by_label(t("board.field.body", LANG), exact=True).fill(body)
    form.get_by_label(t("board.field.nickname", LANG), exact=True).fill(nickname)
    form.get_by_label(t("board.field.password", LANG), exact=True).fill(password)
    submit = form.get_by_role("button", name=t("board.write.submit", LANG), exact=True)
    # the published post opens with its title as its heading (the success flash lasts one run only,
    # so the lasting outcome is what the test waits for)
    click_until(page, submit, PUBLISHED_JS, title, name="board-publish", timeout_ms=45_000)
    wait_for_app(page)


def _comment(page, body: str, count: int) -> None:  # type: ignore[no-untyped-def]
    form = _form(page, "board.comment.submit")
    form.get_by_label(t("board.comment.body", LANG), exact=True).fill(body)
    form.get_by_label(t("board.field.password", LANG), exact=True).fill("comment-pw")
    submit = form.get_by_role("button", name=t("board.comment.submit", LANG), exact=True)
    heading = t("board.comments.heading", LANG, count=count)
    click_until(page, submit, HEADING_JS, heading, name="board-comment")
    wait_for_app(page)


def _back(page) -> None:  # type: ignore[no-untyped-def]
    click_until(page, page.get_by_role("button", name=t("board.post.back", LANG)), LIST_JS, t("board.write.open", LANG),
                name="board-back")
    wait_for_app(page)


def _texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [el.text_content() or "" for el in page.get_by_test_id("stText").all()]


def _shown_verbatim(page, title: str, body: str) -> None:  # type: ignore[no-untyped-def]
    heading = page.locator(TITLE_SEL).first
    assert (heading.text_content() or "").strip() == title
    # st.text shows text as typed (Streamlit trims outer whitespace and common indentation)
    assert textwrap.dedent(body).strip() in [x.strip() for x in _texts(page)]


def test_payloads_stay_text_in_a_real_browser(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    seen_requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: seen_requests.append(r.url))
    page.goto(f"{app_url}/community")
    wait_for_app(page)
    page.get_by_role("heading", name=t("board.title", LANG)).wait_for()

    posts = [
        (LINKY[0], "\n".join(PLAIN + LINKY[1:3])),  # title 1 link + body 2 links
        (LINKY[3], "\n".join(LINKY[4:6])),
        (LINKY[6], "\n".join(LINKY[7:9])),
    ]
    for n, (title, body) in enumerate(posts):
        if n:
            _back(page)
        _publish(page, title, body, password=f"pw-{n}-{PAYLOADS[n]}")
        _shown_verbatim(page, title, body)
        _assert_inert(page, seen_requests, dialogs)
    comments = ["\n".join(LINKY[i : i + 2]) for i in range(9, 21, 2)]  # 6 comments, 2 links each
    for n, body in enumerate(comments, start=1):
        _comment(page, body, count=n)
    texts = [x.strip() for x in _texts(page)]
    for body in comments:
        assert body in texts
    captions = " ".join(c.text_content() or "" for c in page.get_by_test_id("stCaptionContainer").all())
    assert "<b>닉</b>" in captions  # the nickname, verbatim (not bold)
    _assert_inert(page, seen_requests, dialogs)
    shot(page, "board_payloads_post")

    _back(page)
    listed = [(s.text_content() or "").strip() for s in page.locator(CARD_TITLE_SEL).all()]
    for title, _ in posts:
        assert title in listed
    _assert_inert(page, seen_requests, dialogs)

    search = page.get_by_label(t("board.search.label", LANG), exact=True)
    search.fill("onerror")
    search.press("Enter")
    wait_for_app(page)
    expected = sum(1 for title, body in posts if "onerror" in (title + body).lower())
    page.get_by_text(t("board.search.count", LANG, total=expected)).wait_for()
    _assert_inert(page, seen_requests, dialogs)
    shot(page, "board_payloads_list")
    assert not page.errors, page.errors


def test_moderation_unlocks_with_the_secret(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/community")
    wait_for_app(page)
    _open_expander(page, "board.admin.title")
    form = _form(page, "board.admin.unlock")
    form.get_by_label(t("board.admin.secret", LANG), exact=True).fill("not-the-secret")
    form.get_by_role("button", name=t("board.admin.unlock", LANG), exact=True).click()
    page.get_by_text(t("board.error.wrong_secret", LANG)).wait_for()
    form = _form(page, "board.admin.unlock")
    form.get_by_label(t("board.admin.secret", LANG), exact=True).fill("browser-test-secret")
    form.get_by_role("button", name=t("board.admin.unlock", LANG), exact=True).click()
    page.get_by_text(t("board.flash.admin_unlocked", LANG)).wait_for()
    page.get_by_role("button", name=t("board.admin.lock", LANG)).wait_for()
    assert not page.errors, page.errors


VISITOR_COOKIE = "drdc_visitor"


def _browser_context(browser):  # type: ignore[no-untyped-def]
    """A fresh browser (new context: no cookies yet) on the server's machine: Streamlit sees no
    client address for it, the case where issue 16 found a new visitor in every session."""
    return browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})


def _tab(context):  # type: ignore[no-untyped-def]
    """A new tab of that browser: a fresh Streamlit session that sends the browser's cookies."""
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))  # type: ignore[attr-defined]
    return pg


def _visitor_cookie(context) -> str | None:  # type: ignore[no-untyped-def]
    return next((c["value"] for c in context.cookies() if c["name"] == VISITOR_COOKIE), None)


def _open_post(pg, app_url: str, title: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{app_url}/community")
    wait_for_app(pg)
    search = pg.get_by_label(t("board.search.label", LANG), exact=True)
    search.fill(title)
    search.press("Enter")
    wait_for_app(pg)
    pg.get_by_text(t("board.search.count", LANG, total=1)).wait_for()
    opener = pg.get_by_role("button", name=t("board.post.open", LANG), exact=True)
    click_until(pg, opener, PUBLISHED_JS, title, name="board-open-post")
    wait_for_app(pg)


def _like_button(pg, key: str, count: int):  # type: ignore[no-untyped-def]
    return pg.get_by_role("button", name=t(key, LANG, count=count))


def test_a_fresh_session_gains_no_like(app_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    """Done-when of issue 16: the first session likes once; every fresh session of that browser
    (a new tab, a reload) is the same visitor: it sees its like and can only take it back. A URL
    title and a URL-like nickname are plain text, not links."""
    title = "https://evil.example/좋아요-시험"
    context = _browser_context(browser)
    try:
        first = _tab(context)
        first.goto(f"{app_url}/community")
        wait_for_app(first)
        _publish(first, title, "새 탭에서도 좋아요는 한 번", password="author-pw", nickname="www.evil.example")
        token = _visitor_cookie(context)
        assert token and token.startswith("v1.")  # the page stored a signed visitor cookie
        assert first.locator("[data-testid='stMain'] a[href*='evil.example']").count() == 0  # title, nickname: text
        click_until(first, _like_button(first, "board.like.do", 0), "() => true", name="board-like")
        _like_button(first, "board.like.undo", 1).wait_for()
        shot(first, "board_fresh_session_0")
        for session in range(1, 4):  # three fresh sessions of the same browser
            pg = _tab(context)
            _open_post(pg, app_url, title)
            _like_button(pg, "board.like.undo", 1).wait_for()  # already liked: it can only take it back
            assert _like_button(pg, "board.like.do", 1).count() == 0
            assert pg.locator("[data-testid='stMain'] a[href*='evil.example']").count() == 0
            assert not pg.errors, pg.errors
            shot(pg, f"board_fresh_session_{session}")
            pg.close()
        assert _visitor_cookie(context) == token  # the same cookie all along
    finally:
        context.close()
    other = _browser_context(browser)  # another browser on the same machine counts
    try:
        pg = _tab(other)
        _open_post(pg, app_url, title)
        click_until(pg, _like_button(pg, "board.like.do", 1), "() => true", name="board-like-2")
        _like_button(pg, "board.like.undo", 2).wait_for()
    finally:
        other.close()


def _guess_in_a_fresh_tab(context, app_url: str, secret: str) -> str:  # type: ignore[no-untyped-def]
    """Open a new tab (a fresh session of the browser), type ``secret`` into the admin form and
    return the error the page shows."""
    pg = _tab(context)
    pg.goto(f"{app_url}/community")
    wait_for_app(pg)
    _open_expander(pg, "board.admin.title")
    form = _form(pg, "board.admin.unlock")
    form.get_by_label(t("board.admin.secret", LANG), exact=True).fill(secret)
    error = pg.get_by_test_id("stAlertContentError")
    assert error.count() == 0
    click_until(pg, form.get_by_role("button", name=t("board.admin.unlock", LANG), exact=True),
                "() => document.querySelector(\"[data-testid='stAlertContentError']\") !== null", name="board-guess")
    wait_for_app(pg)
    text = (error.first.text_content() or "").strip()
    assert pg.get_by_role("button", name=t("board.admin.lock", LANG)).count() == 0  # not unlocked
    assert not pg.errors, pg.errors
    return text


def test_a_fresh_session_gains_no_admin_guess(app_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    """Done-when of issue 16 (before: every new session got 5 more guesses): 5 wrong admin
    secrets, each from a fresh session of one browser; the next fresh session is refused at
    once, the right secret included (the count is in the database)."""
    wrong = t("board.error.wrong_secret", LANG)
    locked = t("board.error.rate_limited", LANG, seconds=0).split("0")[0]
    context = _browser_context(browser)
    try:
        for n in range(5):
            assert wrong in _guess_in_a_fresh_tab(context, app_url, f"wrong-{n}")  # after the icon's name
        refused = _guess_in_a_fresh_tab(context, app_url, "browser-test-secret")
        assert locked in refused and wrong not in refused, refused
        assert _visitor_cookie(context)
    finally:
        context.close()
