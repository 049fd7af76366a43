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
import sqlite3
from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.board import (
    CATEGORIES,
    Board,
    SummaryError,
    escape_markdown,
    new_visitor_id,
    summary_lines,
    task_label,
    validate_summary,
)
from core.errors import UserError
from core.settings import get_settings
from ui.common import lang, show_user_error, tr

_LOG = logging.getLogger(__name__)

VISITOR_KEY = "board_visitor_id"
NICKNAME_KEY = "board_nickname"
OPEN_POST_KEY = "board_open_post"
ADMIN_SECRET_NAME = "DRDC_ADMIN_SECRET"


@st.cache_resource(show_spinner=False)
def _board_for(db_path: str) -> Board:
    return Board(db_path)


def get_board() -> Board:
    """The board of the configured database (one shared instance per database path)."""
    return _board_for(str(get_settings().db_path))


def client_address() -> str | None:
    """The client's IP address as the server sees it (``st.context.ip_address``; behind a
    reverse proxy on the same machine, the address it forwards). None for direct
    connections from localhost, in AppTest, and outside a script run."""
    try:
        address = st.context.ip_address
    except Exception:  # no script-run context, or a Streamlit without it
        return None
    return address if isinstance(address, str) and address else None


def visitor_id() -> str:
    """Who this visitor is for likes, reports and rate limits (failed passwords and admin
    secrets included): derived from the client address when the server sees one, so a
    reload or a new tab does not make a new visitor (see
    :meth:`core.board.Board.client_visitor_id`: a salted scrypt, the address is never
    stored); otherwise a random id kept for this browser session. The board stores only
    the hash of either."""
    if VISITOR_KEY not in st.session_state:
        st.session_state[VISITOR_KEY] = new_visitor_id()
    address = client_address()
    if address:
        try:
            client = get_board().client_visitor_id(address)
        except (UserError, sqlite3.Error, OSError) as exc:  # an unusable database: the session id still reads
            _LOG.log(logging.WARNING, "per-client visitor id unavailable (%s); using the session id", type(exc).__name__)
            client = None
        if client:
            return client
    return str(st.session_state[VISITOR_KEY])


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


def user_line(value: str, *, bold: bool = False, heading: bool = False) -> None:
    """Show one line of user text (a title) verbatim: Markdown-escaped, never HTML;
    optionally bold or as a level-3 heading."""
    escaped = escape_markdown(value)
    if heading:
        escaped = f"### {escaped}"
    elif bold:
        escaped = f"**{escaped}**"
    st.markdown(escaped)


def user_text(value: str) -> None:
    """Show multi-line user text (post body, comment) verbatim, without Markdown or HTML."""
    st.text(value, width="stretch")


def summary_block(summary: Mapping[str, Any]) -> None:
    """Show a validated analysis summary as plain text lines."""
    st.text("\n".join(summary_lines(summary, lang())), width="stretch")


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
            nickname = st.text_input(
                tr("board.field.nickname"),
                value=st.session_state.get(NICKNAME_KEY, ""),
                max_chars=cfg.nickname_max,
                key=f"{key}__nickname",
            )
            password = st.text_input(
                tr("board.field.password"),
                type="password",
                max_chars=cfg.password_max,
                help=tr("board.field.password_help"),
                key=f"{key}__password",
            )
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
