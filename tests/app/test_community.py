"""Community page through Streamlit's AppTest, in Korean and English: write a post, see it
listed, comment, like, search, wrong password refused, moderation with the admin secret,
payloads shown verbatim, titles as plain text, stored values that no calendar can show,
visitors that follow a browser (a fake cookie jar stands in for the browser), and the share
widget other pages use. Every test runs on both storage engines (``storage_engine``: the SQLite
file, then PostgreSQL through ``DRDC_DB_URL``), except the two that write the SQLite file by hand."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.board import COOKIE_NAME, Board, open_board
from core.i18n import t
from ui.share import format_time

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PAGE = str(PROJECT_ROOT / "views" / "community.py")
TIMEOUT = 60


@pytest.fixture
def db_path(storage_engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The board the page opens: this SQLite file, or (PostgreSQL run) the ``DRDC_DB_URL`` schema."""
    path = tmp_path / "board.sqlite3"
    monkeypatch.setenv("DRDC_DB_PATH", str(path))
    monkeypatch.delenv("DRDC_ADMIN_SECRET", raising=False)
    return path


@pytest.fixture
def sqlite_file(storage_engine: str, db_path: Path) -> Path:
    """The SQLite file, for tests that write it by hand (skipped on PostgreSQL)."""
    if storage_engine != "files":
        pytest.skip("SQLite-specific: writes the board's database file by hand")
    return db_path


def _key(at: AppTest, name: str) -> str:
    """The page's form widget keys carry a round number that grows after each success."""
    round_no = at.session_state["board_form_round"] if "board_form_round" in at.session_state else 0
    return f"{name}_{round_no}"


def _app(lang: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, key: str, lang: str, **params: object):  # type: ignore[no-untyped-def]
    label = t(key, lang, **params)
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} in {[b.label for b in at.button]}"
    return matches[0]


def _click(at: AppTest, key: str, lang: str, **params: object) -> AppTest:
    _button(at, key, lang, **params).click().run()
    assert not at.exception, at.exception
    return at


def _write_post(at: AppTest, lang: str, *, category: str, title: str, body: str, nickname: str, password: str) -> None:
    at.selectbox(key=_key(at, "board_new_category")).select(category)
    at.text_input(key=_key(at, "board_new_title")).input(title)
    at.text_area(key=_key(at, "board_new_body")).input(body)
    at.text_input(key=_key(at, "board_new_nickname")).input(nickname)
    at.text_input(key=_key(at, "board_new_password")).input(password)
    _click(at, "board.write.submit", lang)


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _texts(at: AppTest) -> list[str]:
    return [x.value for x in at.text]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _titles(at: AppTest, where: str) -> list[str]:
    """Titles shown as plain text (``st.text`` in the keyed title containers): ``card`` (the
    list), ``queue`` (moderation), ``view`` (the open post's heading)."""
    marker = "-board_title_h_" if where == "view" else f"-board_title_{where}_"
    out: list[str] = []

    def walk(node: object, inside: bool) -> None:
        block_id = getattr(getattr(node, "proto", None), "id", "")
        inside = inside or (isinstance(block_id, str) and marker in block_id)
        if inside and type(node).__name__ == "Text":
            out.append(node.value)  # type: ignore[attr-defined]
        for child in getattr(node, "children", {}).values():
            walk(child, inside)

    walk(at._tree, False)
    return out


def _only_constant_html(at: AppTest) -> None:
    """The page's only HTML is its own: the title style and the visitor-cookie script with a
    signed token (no user text ever reaches st.html)."""
    import re

    from ui.share import TITLE_CSS

    for element in at.get("html"):
        body = element.proto.body
        assert body == TITLE_CSS or re.fullmatch(
            r"<script>\n\(function \(\) \{\n.*document\.cookie = \"drdc_visitor=v1\.[0-9a-f]{32}\.[0-9a-f]{32};.*\}\)\(\);\n</script>",
            body, re.DOTALL,
        ), body


def _title(at: AppTest, where: str) -> str:
    [title] = _titles(at, where)
    return title


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_post_comment_like_search(db_path: Path, lang: str) -> None:
    at = _app(lang)
    assert at.title[0].value == t("board.title", lang)
    assert t("board.list.count", lang, total=0) in [c.value for c in at.caption]
    _write_post(at, lang, category="scalp", title="두피가 가려워요", body="샴푸를 바꿨어요\n둘째 줄", nickname="철수", password="pw-1234")
    assert [s.value for s in at.success] == [t("board.flash.posted", lang)]
    assert _title(at, "view") == "두피가 가려워요"  # the post view opened
    assert "샴푸를 바꿨어요\n둘째 줄" in _texts(at)

    at.text_area(key=_key(at, "board_comment_body")).input("저도 그래요")
    assert at.text_input(key=_key(at, "board_comment_nickname")).value == "철수"  # remembered
    at.text_input(key=_key(at, "board_comment_password")).input("pw-5678")
    _click(at, "board.comment.submit", lang)
    assert "저도 그래요" in _texts(at)
    assert at.subheader[0].value == t("board.comments.heading", lang, count=1)

    _click(at, "board.like.do", lang, count=0)
    _button(at, "board.like.undo", lang, count=1)  # liked once; the button now takes it back
    _click(at, "board.like.undo", lang, count=1)
    _button(at, "board.like.do", lang, count=0)

    _click(at, "board.post.back", lang)
    assert "두피가 가려워요" in _titles(at, "card")
    at.text_input(key="board_query").input("두피").run()
    assert t("board.search.count", lang, total=1) in [c.value for c in at.caption]
    at.text_input(key="board_query").input("골다공증").run()
    assert t("board.search.none", lang) in [i.value for i in at.info]
    assert open_board().list_posts().items[0].comment_count == 1


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_wrong_password_refused_right_one_edits_and_deletes(db_path: Path, lang: str) -> None:
    at = _app(lang)
    _write_post(at, lang, category="bone", title="골다공증 검사", body="어깨 사진", nickname="영희", password="right-pw")
    at.text_input(key=_key(at, "board_owner_nickname")).input("영희")
    at.text_input(key=_key(at, "board_owner_password")).input("wrong-pw")
    at.text_input(key=_key(at, "board_owner_title")).input("hacked")
    _click(at, "board.owner.save", lang)
    assert _errors(at) == [t("board.error.wrong_password", lang)]
    assert open_board().list_posts().items[0].title == "골다공증 검사"

    at.text_input(key=_key(at, "board_owner_password")).input("right-pw")
    at.text_input(key=_key(at, "board_owner_title")).input("골다공증 검사 (수정)")
    _click(at, "board.owner.save", lang)
    assert [s.value for s in at.success] == [t("board.flash.edited", lang)]
    assert _title(at, "view") == "골다공증 검사 (수정)"

    at.text_input(key=_key(at, "board_owner_nickname")).input("영희")
    at.text_input(key=_key(at, "board_owner_password")).input("right-pw")
    _click(at, "board.owner.delete", lang)  # not confirmed yet
    assert t("board.owner.confirm_needed", lang) in [w.value for w in at.warning]
    at.checkbox(key=_key(at, "board_owner_confirm")).check()
    _click(at, "board.owner.delete", lang)
    assert [s.value for s in at.success] == [t("board.flash.deleted", lang)]
    assert open_board().list_posts().total == 0


def test_invalid_input_shows_a_translated_error(db_path: Path) -> None:
    at = _app("ko")
    _write_post(at, "ko", category="free", title="", body="내용", nickname="닉네임", password="pw-1234")
    assert _errors(at) == ["제목을 입력해 주세요."]
    _write_post(at, "ko", category="free", title="링크", body="http://a http://b http://c http://d", nickname="닉네임", password="pw-1234")
    assert _errors(at) == [t("board.error.too_many_links", "ko", max=3, found=4)]
    assert open_board().list_posts().total == 0


def test_payloads_are_shown_verbatim_never_as_html(db_path: Path) -> None:
    title = '<img src=x onerror="window.__xss=1"> [x](javascript:alert(1)) **b** :red[c]'
    body = "<script>window.__xss=1</script>\n![x](http://evil/)\n'; DROP TABLE posts;--"
    at = _app("en")
    _write_post(at, "en", category="free", title=title, body=body, nickname="<b>nick</b>", password="pw-1234")
    assert body in _texts(at)
    assert _title(at, "view") == title  # plain text (st.text), verbatim
    assert not [m for m in _markdown(at) if "onerror" in m]
    for element in [*at.markdown, *at.caption]:
        assert not element.proto.allow_html  # nothing on the page is rendered as HTML
    _only_constant_html(at)
    assert open_board().list_posts().items[0].body == body


def test_moderation_with_the_secret(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    board = open_board()
    post_id = board.create_post("author", category="free", title="광고 글", body="spam", nickname="spammer", password="pw-1234")
    for visitor in ("r1", "r2", "r3"):
        board.report_post(post_id, visitor, "광고")
    assert board.get_post(post_id) is None  # hidden pending review

    at = _app("ko")
    assert t("board.admin.off", "ko") in [c.value for c in at.caption]  # no secret: moderation off

    monkeypatch.setenv("DRDC_ADMIN_SECRET", "s3cret-admin")
    at = _app("ko")
    at.text_input(key="board_admin_input").input("wrong")
    _click(at, "board.admin.unlock", "ko")
    assert _errors(at) == [t("board.error.wrong_secret", "ko")]
    at.text_input(key="board_admin_input").input("s3cret-admin")
    _click(at, "board.admin.unlock", "ko")
    assert t("board.admin.queue", "ko", total=1) in [c.value for c in at.caption]
    assert _titles(at, "queue") == ["광고 글"]
    assert "- 광고\n- 광고\n- 광고" in _texts(at)
    _click(at, "board.admin.restore", "ko")
    assert [s.value for s in at.success] == [t("board.flash.restored", "ko")]
    assert board.get_post(post_id) is not None
    assert t("board.admin.queue", "ko", total=0) in [c.value for c in at.caption]


def test_report_button_hides_after_threshold(db_path: Path, browsers: dict[str, dict[str, str]]) -> None:
    board = open_board()
    post_id = board.create_post("author", category="chest", title="이상한 글", body="...", nickname="someone", password="pw-1234")
    board.report_post(post_id, "r1")
    board.report_post(post_id, "r2")
    at = _browser_session("en", "browser-a")
    _click(at, "board.post.open", "en")
    at.text_input(key=f"board_report_reason_{post_id}").input("off-topic")
    _click(at, "board.report.submit", "en")
    assert [s.value for s in at.success] == [t("board.flash.reported_hidden", "en")]
    assert board.get_post(post_id) is None
    assert t("board.list.empty", "en") in [i.value for i in at.info]


def test_pagination(db_path: Path) -> None:
    board = open_board()
    for n in range(23):
        board.import_posts([{"category": "free", "title": f"글 {n:02d}", "body": "본문", "nickname": "n"}])
    at = _app("ko")
    assert _titles(at, "card")[0] == "글 22"
    at.get("pagination")[0].set_value(3).run()
    assert _titles(at, "card") == ["글 02", "글 01", "글 00"]


SHARE_SCRIPT = '''
import streamlit as st
from ui.share import share_to_board
kind = st.session_state.get("kind", "good")
summary = {"task": "scalp", "model": "scalp-demo", "findings": [{"label": "dandruff", "score": 0.71}]}
if kind == "image":
    summary = {**summary, "image": b"\\x89PNG fake image bytes"}
share_to_board("scalp", summary, key="scalp_share")
'''


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_share_widget_posts_a_summary(db_path: Path, lang: str) -> None:
    at = AppTest.from_string(SHARE_SCRIPT, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    preview = _texts(at)[0]
    assert "dandruff: 0.71" in preview and t("board.summary.task", lang, task=t("board.task.scalp", lang)) in preview
    at.text_input(key="scalp_share__nickname").input("공유자")
    at.text_input(key="scalp_share__password").input("pw-1234")
    _click(at, "board.share.button", lang)
    [post] = open_board().list_posts().items
    assert [s.value for s in at.success] == [t("board.share.done", lang, id=post.id)]
    assert post.category == "scalp" and post.nickname == "공유자"
    assert post.title == t("board.share.default_title", lang, task=t("board.task.scalp", lang))
    assert post.summary == {"task": "scalp", "model": "scalp-demo", "findings": [{"label": "dandruff", "score": 0.71}]}
    assert at.session_state["board_open_post"] == post.id  # the board opens it next


def test_share_widget_refuses_images(db_path: Path) -> None:
    at = AppTest.from_string(SHARE_SCRIPT, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["kind"] = "image"
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == [t("board.error.summary_binary", "en")]
    assert not [b for b in at.button if b.label == t("board.share.button", "en")]
    assert open_board().list_posts().total == 0


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_edit_and_delete_a_comment(db_path: Path, lang: str) -> None:
    board = open_board()
    post_id = board.create_post("author", category="free", title="댓글 수정", body="본문", nickname="글쓴이", password="pw-1234")
    first = board.add_comment("c", post_id, nickname="영희", password="comment-pw", body="처음 댓글")
    second = board.add_comment("c", post_id, nickname="민수", password="other-pw", body="두 번째 댓글")
    at = _app(lang)
    _click(at, "board.post.open", lang)
    at.selectbox(key=_key(at, "board_comment_manage_id")).select(first).run()
    body = at.text_area(key=_key(at, f"board_comment_edit_body_{first}"))
    assert body.value == "처음 댓글"  # the form opens with the comment's text
    body.input("고친 댓글\n둘째 줄")
    at.text_input(key=_key(at, "board_comment_manage_nickname")).input("영희")
    at.text_input(key=_key(at, "board_comment_manage_password")).input("wrong-pw")
    _click(at, "board.comment.save", lang)
    assert _errors(at) == [t("board.error.wrong_password", lang)]
    assert [c.body for c in board.list_comments(post_id)] == ["처음 댓글", "두 번째 댓글"]

    at.text_input(key=_key(at, "board_comment_manage_password")).input("comment-pw")
    _click(at, "board.comment.save", lang)
    assert [s.value for s in at.success] == [t("board.flash.comment_edited", lang)]
    [edited, _] = board.list_comments(post_id)
    assert edited.body == "고친 댓글\n둘째 줄" and edited.updated_at is not None
    assert "고친 댓글\n둘째 줄" in _texts(at)
    captions = [c.value for c in at.caption]
    assert t("board.comment.meta_edited", lang, id=first, nickname="영희", time=format_time(edited.created_at),
             edited=format_time(edited.updated_at)) in captions
    assert t("board.comment.meta", lang, id=second, nickname="민수",
             time=format_time(board.list_comments(post_id)[1].created_at)) in captions  # not edited

    at.text_area(key=_key(at, f"board_comment_edit_body_{first}")).input("http://a http://b http://c")
    at.text_input(key=_key(at, "board_comment_manage_nickname")).input("영희")
    at.text_input(key=_key(at, "board_comment_manage_password")).input("comment-pw")
    _click(at, "board.comment.save", lang)  # the same spam rule as a new comment
    assert _errors(at) == [t("board.error.too_many_links", lang, max=2, found=3)]
    assert board.list_comments(post_id)[0].body == "고친 댓글\n둘째 줄"

    at.selectbox(key=_key(at, "board_comment_manage_id")).select(second).run()
    at.text_input(key=_key(at, "board_comment_manage_nickname")).input("민수")
    at.text_input(key=_key(at, "board_comment_manage_password")).input("other-pw")
    _click(at, "board.comment.delete", lang)  # not confirmed: nothing is deleted
    assert t("board.comment.confirm_needed", lang) in [w.value for w in at.warning]
    assert len(board.list_comments(post_id)) == 2
    at.text_input(key=_key(at, "board_comment_manage_nickname")).input("민수")
    at.text_input(key=_key(at, "board_comment_manage_password")).input("other-pw")
    at.checkbox(key=_key(at, "board_comment_manage_confirm")).check()
    _click(at, "board.comment.delete", lang)
    assert [s.value for s in at.success] == [t("board.flash.comment_deleted", lang)]
    assert [c.id for c in board.list_comments(post_id)] == [first]


CLIENT_KEY = "test_client_address"
BROWSER_KEY = "test_browser"


@pytest.fixture
def client_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the page see a client address (AppTest has none): the one the test puts in the
    session state, as a reverse proxy would forward it."""
    import streamlit as st

    import ui.share

    monkeypatch.setattr(ui.share, "client_address", lambda: st.session_state.get(CLIENT_KEY))


@pytest.fixture
def browsers(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    """Cookie jars standing in for browsers (AppTest has no browser): a session whose state
    names a browser sends that jar's cookies and stores what the page's cookie script sets;
    a session without one drops cookies (a script, or cookies turned off)."""
    import streamlit as st

    import ui.share

    jars: dict[str, dict[str, str]] = {}

    def sent() -> str | None:
        return jars.get(st.session_state.get(BROWSER_KEY, ""), {}).get(COOKIE_NAME)

    def store(token: str) -> None:
        name = st.session_state.get(BROWSER_KEY)
        if name:
            jars.setdefault(name, {})[COOKIE_NAME] = token

    monkeypatch.setattr(ui.share, "browser_cookie", sent)
    monkeypatch.setattr(ui.share, "_set_cookie", store)
    return jars


def _session(lang: str, address: str | None = None, browser: str | None = None) -> AppTest:
    """A fresh session (a new tab, a reload): from ``address``, in ``browser`` (None: no cookies)."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    if address:
        at.session_state[CLIENT_KEY] = address
    if browser:
        at.session_state[BROWSER_KEY] = browser
    at.run()
    assert not at.exception, at.exception
    return at


def _browser_session(lang: str, browser: str, address: str | None = None) -> AppTest:
    """A session of a browser that has visited the board before (its first visit stored the
    cookie), so the board already knows the browser."""
    first = _session(lang, address, browser)
    assert first.session_state["board_visitor_token"]  # the first visit was given a cookie
    return _session(lang, address, browser)


def _like_and_report(board: Board, lang: str, post_id: int, address: str | None = None,
                     browser: str | None = None) -> AppTest:
    """A fresh session opens the post, presses like when it offers to like, and reports."""
    at = _session(lang, address, browser)
    _click(at, "board.post.open", lang)
    count = board.moderator("m", "s", "s").get_post(post_id).like_count  # type: ignore[union-attr]
    if [b for b in at.button if b.label == t("board.like.do", lang, count=count)]:
        _click(at, "board.like.do", lang, count=count)
    else:
        _button(at, "board.like.undo", lang, count=count)
    _click(at, "board.report.submit", lang)
    return at


def test_fresh_sessions_of_one_browser_cannot_like_twice_or_hide_a_post(
    db_path: Path, browsers: dict[str, dict[str, str]]
) -> None:
    """Issue 16 reproducer: with no client address (localhost, some proxies) 3 fresh sessions
    hid a post. Now the browser's signed cookie makes them one visitor."""
    board = open_board()
    post_id = board.create_post("author", category="free", title="멀쩡한 글", body="본문", nickname="someone", password="pw-1234")
    for _ in range(3):  # one person, three fresh sessions (the first one stores the cookie)
        at = _like_and_report(board, "ko", post_id, browser="browser-1")
    post = board.get_post(post_id)
    assert post is not None, "one browser hid the post alone"
    assert (post.like_count, post.report_count) == (1, 1)
    assert t("board.report.already", "ko") in [i.value for i in at.info]  # the third session was told
    _button(at, "board.like.undo", "ko", count=1)  # the third session saw its earlier like
    assert len(browsers["browser-1"]) == 1

    _like_and_report(board, "ko", post_id, browser="browser-2")  # another browser counts
    _like_and_report(board, "ko", post_id, browser="browser-2")  # first its first visit, then again
    post = board.get_post(post_id)
    assert post is not None and (post.like_count, post.report_count) == (2, 2)


def test_sessions_that_drop_cookies_cannot_hide_a_post(db_path: Path, browsers: dict[str, dict[str, str]]) -> None:
    board = open_board()
    post_id = board.create_post("author", category="free", title="글", body="본문", nickname="someone", password="pw-1234")
    for _ in range(3):  # no cookies kept, no client address: each session is a new, unconfirmed id
        _like_and_report(board, "en", post_id)
    post = board.get_post(post_id)
    assert post is not None  # their reports are recorded but do not hide the post
    assert post.report_count == 3


def test_one_client_address_cannot_hide_a_post_by_clearing_cookies(
    db_path: Path, client_addresses: None, browsers: dict[str, dict[str, str]]
) -> None:
    board = open_board()
    post_id = board.create_post("author", category="free", title="멀쩡한 글", body="본문", nickname="someone", password="pw-1234")
    for n in range(3):  # three browsers (or cleared cookies), one address: one reporter
        at = _browser_session("ko", f"cleared-{n}", address="203.0.113.10")
        _click(at, "board.post.open", "ko")
        _click(at, "board.report.submit", "ko")
    assert board.get_post(post_id) is not None
    for address in ("203.0.113.11", "2001:db8:5::7"):  # two more clients elsewhere: three reporters
        at = _browser_session("ko", f"browser-{address}", address=address)
        _click(at, "board.post.open", "ko")
        _click(at, "board.report.submit", "ko")
    assert board.get_post(post_id) is None


def test_admin_secret_guesses_follow_the_browser_and_the_client(
    db_path: Path, client_addresses: None, browsers: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRDC_ADMIN_SECRET", "s3cret-admin")
    _session("en", browser="guesser")  # the browser's first visit stores its cookie
    for _ in range(5):  # a fresh session for every wrong guess
        at = _session("en", browser="guesser")
        at.text_input(key="board_admin_input").input("wrong")
        _click(at, "board.admin.unlock", "en")
        assert _errors(at) == [t("board.error.wrong_secret", "en")]
    at = _session("en", browser="guesser")
    at.text_input(key="board_admin_input").input("s3cret-admin")
    _click(at, "board.admin.unlock", "en")
    [error] = _errors(at)
    assert error.startswith(t("board.error.rate_limited", "en", seconds=0)[:10])  # locked out for now

    for n in range(5):  # from one address, a new browser (cleared cookies) for every guess
        at = _session("en", "198.51.100.99", browser=f"fresh-{n}")
        at.text_input(key="board_admin_input").input("wrong")
        _click(at, "board.admin.unlock", "en")
        assert _errors(at) == [t("board.error.wrong_secret", "en")]
    at = _session("en", "198.51.100.99", browser="fresh-5")
    at.text_input(key="board_admin_input").input("s3cret-admin")
    _click(at, "board.admin.unlock", "en")
    assert _errors(at)[0].startswith(t("board.error.rate_limited", "en", seconds=0)[:10])
    at = _session("en", "198.51.100.100", browser="admin")  # another client is not locked out
    at.text_input(key="board_admin_input").input("s3cret-admin")
    _click(at, "board.admin.unlock", "en")
    assert [s.value for s in at.success] == [t("board.flash.admin_unlocked", "en")]


def test_stored_values_no_calendar_can_show_do_not_take_the_page_down(sqlite_file: Path) -> None:
    """Issue 16 reproducer: a post with created_at 1e20 (or a text view count) in the database
    took the community page down for every visitor."""
    import sqlite3

    board = open_board()
    post_id = board.create_post("author", category="free", title="정상 글", body="본문", nickname="someone", password="pw-1234")
    board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="댓글")
    with sqlite3.connect(sqlite_file) as conn:  # values an old import or a hand edit could leave
        for n, (created, views) in enumerate([(1e20, "NaN"), (-1.0, "many"), ("yesterday", -7), (None, 2.5)]):
            conn.execute(
                "INSERT INTO posts (created_at, updated_at, category, nickname, title, body, fingerprint, view_count, "
                "like_count, summary_json) VALUES (?, ?, 'free', 'x', ?, 'b', ?, ?, ?, '{not json')",
                (created if created is not None else 0, 1e300, f"broken {n}", f"fp{n}", views, "lots"),
            )
        conn.execute("UPDATE comments SET created_at = 1e20, updated_at = 'later'")
        conn.execute("UPDATE posts SET created_at = 1e20, view_count = 'NaN' WHERE id = ?", (post_id,))
    for lang in ("en", "ko"):
        at = _app(lang)
        assert "broken 3" in _titles(at, "card") and "정상 글" in _titles(at, "card")
        assert any(t("board.time.unknown", lang) in c.value for c in at.caption)
        for button in [b for b in at.button if b.label == t("board.post.open", lang)]:
            button.click().run()
            assert not at.exception, at.exception
            assert _title(at, "view")
            _click(at, "board.post.back", lang)
    at = _app("en")
    at.text_input(key="board_query").input("broken").run()
    assert not at.exception and t("board.search.count", "en", total=4) in [c.value for c in at.caption]
    out = io.StringIO()
    board.export_jsonl(out)  # the export reads them too, and can be imported again
    assert Board(sqlite_file.with_name("copy.sqlite3")).import_jsonl(out.getvalue().splitlines())["posts"] == 5


def test_a_url_title_is_plain_text_not_a_link(sqlite_file: Path) -> None:
    board = open_board()
    url = "https://evil.example/login"
    board.create_post("a", category="free", title=url, body="본문", nickname="www.evil.example", password="pw-1234")
    mail_post = board.create_post("b", category="free", title="mail", body="본문 2", nickname="me@evil.example",
                                  password="pw-1234")
    # an e-mail address is refused in new titles (personal data); one stored before that rule is still shown as text
    with sqlite3.connect(sqlite_file) as db:
        db.execute("UPDATE posts SET title = ? WHERE id = ?", ("me@evil.example", mail_post))
    at = _app("en")
    assert {url, "me@evil.example"} <= set(_titles(at, "card"))
    for element in [*at.markdown, *at.caption]:  # nicknames in captions: autolinks cut by a word joiner
        shown = element.value.replace("\\", "")
        assert "www.evil" not in shown and "me@evil" not in shown and "https://" not in shown
    _click(at, "board.post.open", "en")
    assert _title(at, "view") in (url, "me@evil.example")
