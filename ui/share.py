"""Streamlit side of the community board shared by pages: the cached board, the visitor id,
safe display of user text, and :func:`share_to_board`, the one-click widget other pages use
to post an analysis summary (findings and scores only; never the image or patient data).

Usage from an analysis page::

    from ui.share import share_to_board

    share_to_board("chest", {"task": "chest", "model": card.name,
                             "findings": [{"label": "Effusion", "score": 0.82}]}, key="chest_share")
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.board import (
    CATEGORIES,
    COOKIE_NAME,
    Board,
    BoardConfig,
    SummaryError,
    Visitor,
    open_board,
    summary_lines,
    task_label,
    validate_summary,
)
from core.board.security import ANONYMOUS_VISITOR
from core.errors import UserError
from core.settings import get_settings
from ui.common import lang, show_user_error, tr

_LOG = logging.getLogger(__name__)

VISITOR_KEY = "board_visitor_token"  # the visitor cookie value issued to this session ("" when refused)
#: the one fallback visitor of every session with no client address and no usable cookie
ANONYMOUS = ANONYMOUS_VISITOR
NICKNAME_KEY = "board_nickname"
OPEN_POST_KEY = "board_open_post"
ADMIN_SECRET_NAME = "DRDC_ADMIN_SECRET"


@st.cache_resource(show_spinner=False)
def _board_for(store: str) -> Board:
    return open_board()


def get_board() -> Board:
    """The board of the configured database (one shared instance per database URL or path)."""
    settings = get_settings()
    return _board_for(settings.db_url or str(settings.db_path))


def client_address() -> str | None:
    """The client's IP address as the server sees it (``st.context.ip_address``; behind a
    reverse proxy on the same machine, the address it forwards). None for direct
    connections from localhost, in AppTest, and outside a script run."""
    try:
        address = st.context.ip_address
    except Exception:  # no script-run context, or a Streamlit without it
        return None
    return address if isinstance(address, str) and address else None


def browser_cookie() -> str | None:
    """The visitor cookie the browser sent when this session connected (``st.context.cookies``:
    Streamlit reads cookies from the session's opening request only, so a cookie set during a
    session is seen from the next session of that browser on)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no script-run context, or a Streamlit without it
        return None
    return value if isinstance(value, str) and value else None


def _network_id(board: Board) -> str | None:
    address = client_address()
    if not address:
        return None
    try:
        return board.client_visitor_id(address)
    except (UserError, sqlite3.Error, OSError) as exc:  # an unusable database: no network id
        _LOG.log(logging.WARNING, "per-client visitor id unavailable (%s)", type(exc).__name__)
        return None


def _session_token(board: Board, fallback: str) -> str | None:
    """The visitor cookie value issued to this session (once; None when the fallback visitor
    has had too many issued, see :meth:`core.board.Board.issue_browser_token`)."""
    if VISITOR_KEY not in st.session_state:
        try:
            token = board.issue_browser_token(fallback)
        except (UserError, sqlite3.Error, OSError) as exc:
            _LOG.log(logging.WARNING, "no visitor cookie issued (%s)", type(exc).__name__)
            token = None
        st.session_state[VISITOR_KEY] = token or ""
    return st.session_state[VISITOR_KEY] or None


def visitor_id() -> Visitor:
    """Who this visitor is for likes, reports and rate limits (failed passwords and admin
    secrets included): a **browser**, not a session or a shared address.

    * The browser's signed visitor cookie, when it sent a valid one: every session of that
      browser (reloads, new tabs, days later) is the same visitor (``confirmed``).
    * Otherwise (a browser's first session, or a client that drops cookies) the id in a
      new signed cookie issued to this session, which :func:`keep_visitor_cookie` has the
      page store; not yet ``confirmed``. New ids per client network are limited, so a client
      that drops cookies cannot become a new visitor on every session: past the limit, and if
      the database is unusable, the visitor is the client network (a salted scrypt of the
      address), or one shared :data:`ANONYMOUS` visitor when the server sees no address.

    The client network also comes along (``network``): its own limits hold on top of the
    browser's, so clearing cookies resets nothing. The board stores only hashes of these ids.
    """
    board = get_board()
    network = _network_id(board)
    try:
        browser = board.browser_visitor_id(browser_cookie())
    except (UserError, sqlite3.Error, OSError):
        browser = None
    if browser:
        return Visitor(browser, network, confirmed=True)
    fallback = network or ANONYMOUS
    token = _session_token(board, fallback)
    if token:
        try:
            browser = board.browser_visitor_id(token)
        except (UserError, sqlite3.Error, OSError):
            browser = None
    return Visitor(browser or fallback, network, confirmed=False)


_TOKEN_SHAPE = re.compile(r"v1\.[0-9a-f]{32}\.[0-9a-f]{32}")
#: Stores the visitor cookie for a year: first-party, SameSite=Strict, Secure over https, path /
#: (Streamlit reads it from the websocket's opening request). JavaScript sets it because
#: Streamlit cannot send a Set-Cookie header from a script run (only an st.App middleware
#: could, which would change how the app is started). Its value is a signed random id, so a
#: script reading it learns nothing; the board renders no user HTML.
_COOKIE_JS = """<script>
(function () {
  var secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "%(name)s=%(value)s; Path=/; Max-Age=31536000; SameSite=Strict" + secure;
})();
</script>"""


def _set_cookie(token: str) -> None:
    """Run the cookie script in the page (``st.html`` with JavaScript: the body is a constant
    template and a value that matched :data:`_TOKEN_SHAPE`)."""
    if _TOKEN_SHAPE.fullmatch(token):
        st.html(_COOKIE_JS % {"name": COOKIE_NAME, "value": token}, unsafe_allow_javascript=True)


def keep_visitor_cookie() -> None:
    """Have the browser store this session's visitor cookie when it did not send a valid one
    (the page calls this on every run, before anything that acts on the board): from the next
    session on, the browser is recognised. Does nothing when the browser's cookie is valid."""
    try:
        board = get_board()
        if board.browser_visitor_id(browser_cookie()):
            return
    except (UserError, sqlite3.Error, OSError):
        return
    token = _session_token(board, _network_id(board) or ANONYMOUS)
    if token:
        _set_cookie(token)


def admin_secret() -> str | None:
    """The moderation secret: ``st.secrets["DRDC_ADMIN_SECRET"]`` when a secrets file sets
    it, else the ``DRDC_ADMIN_SECRET`` environment variable; None turns moderation off."""
    try:
        value = st.secrets.get(ADMIN_SECRET_NAME)
    except Exception:  # no secrets.toml, or an unreadable one
        value = None
    if isinstance(value, str) and value:
        return value
    return get_settings().admin_secret


def format_time(timestamp: object) -> str:
    """A post/comment time in the server's local time zone; ``board.time.unknown`` for a time
    that is missing or that no calendar can show (the page must render whatever is stored)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or not timestamp > 0:
        return tr("board.time.unknown")
    try:
        return dt.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return tr("board.time.unknown")


#: How titles look: ``st.text`` in a keyed container, styled bold / as a heading. A style-only
#: ``st.html`` goes to Streamlit's event container and takes no room on the page.
TITLE_CSS = """<style>
[class*="st-key-board_title_"] [data-testid="stText"] {
  font-family: inherit; font-weight: 600; white-space: pre-wrap; overflow-wrap: anywhere;
}
[class*="st-key-board_title_h_"] [data-testid="stText"] { font-size: 1.5rem; line-height: 1.35; }
</style>"""


def title_style() -> None:
    """Add :data:`TITLE_CSS` to the page (once per run, before :func:`user_title`)."""
    st.html(TITLE_CSS)


def user_title(value: str, *, key: str, heading: bool = False) -> None:
    """Show a post title as plain text with ``st.text`` (never Markdown: a title that is a URL
    or an e-mail address is not a link, nothing in it is formatting), bold, or as the page's
    heading. ``key`` must be unique in the run (the post id and where it is shown)."""
    line = " ".join(value.split())
    with st.container(key=f"board_title_{'h_' if heading else ''}{key}"):
        st.text(line, width="stretch")


def user_text(value: str) -> None:
    """Show multi-line user text (post body, comment) verbatim, without Markdown or HTML."""
    st.text(value, width="stretch")


def summary_block(summary: Mapping[str, Any]) -> None:
    """Show a validated analysis summary as plain text lines."""
    st.text("\n".join(summary_lines(summary, lang())), width="stretch")


def credentials(
    cfg: BoardConfig, nickname_key: str, password_key: str, *, new: bool, side_by_side: bool = True
) -> tuple[str, str]:
    """The nickname and password inputs of every board form. ``new`` (a new post, comment or
    share): the nickname starts as the session's last one and the password explains what it
    is for; otherwise (an owner proving it wrote something) both start empty."""
    left: Any
    right: Any
    left, right = st.columns(2) if side_by_side else (st, st)
    nickname = left.text_input(
        tr("board.field.nickname"),
        value=st.session_state.get(NICKNAME_KEY, "") if new else "",
        max_chars=cfg.nickname_max,
        key=nickname_key,
    )
    password = right.text_input(
        tr("board.field.password"),
        type="password",
        max_chars=cfg.password_max,
        help=tr("board.field.password_help") if new else None,
        key=password_key,
    )
    return nickname, password


def share_to_board(category: str, summary: Mapping[str, Any], key: str) -> int | None:
    """Offer to share ``summary`` to the community board under ``category``.

    Shows exactly what will be shared, asks for a nickname and password (so the author can
    delete the post later) and posts it when the button is pressed. The summary is checked
    by :func:`core.board.validate_summary`, so images, arrays and patient data are refused.
    Returns the new post id once shared (also on later reruns), else None.

    Raises:
        ValueError: ``category`` is not a board category (a programming error).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown board category {category!r}")
    shared_key = f"{key}__shared"
    try:
        clean = validate_summary(summary)
    except SummaryError as err:
        show_user_error(err)
        return None
    keep_visitor_cookie()
    with st.container(border=True):
        st.markdown(tr("board.share.heading"))
        st.caption(tr("board.share.privacy"))
        summary_block(clean)
        done = st.session_state.get(shared_key)
        if done:
            st.success(tr("board.share.done", id=done))
            _link_to_board()
            return int(done)
        with st.form(key=f"{key}__form", clear_on_submit=False):
            board = get_board()
            cfg = board.config
            nickname, password = credentials(cfg, f"{key}__nickname", f"{key}__password", new=True, side_by_side=False)
            note = st.text_area(tr("board.share.note"), max_chars=cfg.comment_max, key=f"{key}__note")
            submitted = st.form_submit_button(tr("board.share.button"), type="primary")
        if not submitted:
            return None
        title = tr("board.share.default_title", task=task_label(clean["task"], lang()))
        body = note if note.strip() else tr("board.share.default_body")
        try:
            post_id = board.create_post(
                visitor_id(),
                category=category,
                title=title,
                body=body,
                nickname=nickname,
                password=password,
                summary=clean,
            )
        except UserError as err:
            show_user_error(err)
            return None
        st.session_state[shared_key] = post_id
        st.session_state[NICKNAME_KEY] = nickname.strip()
        st.session_state[OPEN_POST_KEY] = post_id
        st.success(tr("board.share.done", id=post_id))
        _link_to_board()
        return post_id


def _link_to_board() -> None:
    try:
        st.page_link("views/community.py", label=tr("board.share.open_board"), icon=":material/forum:")
    except Exception:  # page not registered (tests, or an app without the board page)
        st.caption(tr("board.share.see_board"))
