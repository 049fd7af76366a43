"""Community board page: questions and experiences about chest, bone and scalp health.

Thin page: widgets -> one ``core.board`` call -> display. User text is shown with ``st.text``
(bodies, comments, and titles: ``ui.share.user_title``, so a URL title is never a link) or,
for nicknames inside captions, Markdown-escaped with autolinks cut; never as HTML. The forms
live in ``ui.board_forms``, moderation in ``ui.board_admin``. The page keeps the browser's
signed visitor cookie (``ui.share.keep_visitor_cookie``): likes, reports and limits follow
the browser. The app shell renders the language switch and the intended-use notice.
"""

from __future__ import annotations

import streamlit as st

from core.board import CATEGORIES, SORTS, Board, Moderator, Post
from core.errors import UserError
from ui.board_admin import admin_panel, moderation_buttons, session_moderator
from ui.board_forms import (
    FLASH_KEY,
    comment_form,
    comment_meta,
    comment_owner_tools,
    done,
    labels,
    new_post_form,
    open_post,
    owner_tools,
    post_meta,
)
from ui.common import show_user_error, tr
from ui.share import (
    OPEN_POST_KEY,
    format_time,
    get_board,
    keep_visitor_cookie,
    summary_block,
    title_style,
    user_text,
    user_title,
    visitor_id,
)

VIEWED_KEY = "board_viewed"
PAGE_KEY = "board_page"


def _reset_page() -> None:
    st.session_state.pop(PAGE_KEY, None)


# ---------------------------------------------------------------------- list view


def _post_card(post: Post, key: str) -> None:
    with st.container(border=True):
        left, right = st.columns([6, 1], vertical_alignment="center")
        with left:
            user_title(post.title, key=f"card_{post.id}")
            st.caption(post_meta(post))
        right.button(tr("board.post.open"), key=key, on_click=open_post, args=(post.id,))


def _list_view(board: Board) -> None:
    new_post_form(board)
    cfg = board.config
    search_col, cat_col, sort_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    query = search_col.text_input(
        tr("board.search.label"),
        placeholder=tr("board.search.placeholder"),
        max_chars=cfg.query_max,
        key="board_query",
        on_change=_reset_page,
        persist_state="page",
    )
    category = cat_col.selectbox(
        tr("board.filter.category"),
        ("all", *CATEGORIES),
        format_func=labels("board.category", ("all", *CATEGORIES)).__getitem__,
        key="board_category",
        on_change=_reset_page,
        persist_state="page",
    )
    sort = sort_col.radio(
        tr("board.filter.sort"),
        SORTS,
        format_func=labels("board.sort", SORTS).__getitem__,
        horizontal=True,
        key="board_sort",
        on_change=_reset_page,
        persist_state="page",
    )
    try:
        result = board.search(
            query or "",
            category=None if category == "all" else category,
            sort=sort or "newest",
            page=int(st.session_state.get(PAGE_KEY) or 1),
        )
    except UserError as err:
        show_user_error(err)
        return
    if query and query.strip():
        st.caption(tr("board.search.count_more" if result.more else "board.search.count", total=result.total))
    else:
        st.caption(tr("board.list.count", total=result.total))
    if not result.items:
        st.info(tr("board.search.none" if query and query.strip() else "board.list.empty"))
    for post in result.items:
        _post_card(post, key=f"board_open_{post.id}")
    if result.pages > 1:
        st.pagination(result.pages, default=result.page, key=PAGE_KEY, persist_state="page")


# ---------------------------------------------------------------------- post view


def _actions(board: Board, post: Post) -> None:
    vid = visitor_id()
    like_col, report_col = st.columns([1, 3])
    liked = board.has_liked(post.id, vid)
    label = tr("board.like.undo" if liked else "board.like.do", count=post.like_count)
    if like_col.button(label, key=f"board_like_{post.id}", icon=":material/favorite:" if liked else ":material/favorite_border:"):
        try:
            if liked:
                board.unlike(post.id, vid)
            else:
                board.like(post.id, vid)
        except UserError as err:
            show_user_error(err)
        else:
            st.rerun()
    with report_col.expander(tr("board.report.open")):
        reason = st.text_input(
            tr("board.report.reason"), max_chars=board.config.report_reason_max, key=f"board_report_reason_{post.id}"
        )
        if st.button(tr("board.report.submit"), key=f"board_report_{post.id}"):
            try:
                result = board.report_post(post.id, vid, reason)
            except UserError as err:
                show_user_error(err)
            else:
                if not result.new:
                    st.info(tr("board.report.already"))
                else:
                    done("board.flash.reported_hidden" if result.hidden else "board.flash.reported",
                         open_post=None if result.hidden else post.id)


def _comments(board: Board, mod: Moderator | None, post: Post) -> None:
    comments = mod.comments(post.id) if mod else board.list_comments(post.id)
    st.subheader(tr("board.comments.heading", count=len(comments)))
    for comment in comments:
        with st.container(border=True):
            st.caption(comment_meta(comment))
            user_text(comment.body)
            if mod and st.button(tr("board.admin.delete_comment"), key=f"board_mod_delc_{comment.id}"):
                try:
                    mod.delete_comment(comment.id)
                except UserError as err:
                    show_user_error(err)
                else:
                    done("board.flash.comment_deleted")
    if post.status != "visible":
        return
    comment_form(board, post)
    if comments:
        comment_owner_tools(board, comments)


def _post_view(board: Board, mod: Moderator | None, post_id: int) -> None:
    st.button(tr("board.post.back"), key="board_back", on_click=open_post, args=(None,), icon=":material/arrow_back:")
    viewed: set[int] = st.session_state.setdefault(VIEWED_KEY, set())
    if post_id not in viewed:
        try:
            board.record_view(post_id)
            viewed.add(post_id)
        except UserError:
            pass  # a busy database must not hide the post; the view is simply not counted
    post = board.get_post(post_id) or (mod.get_post(post_id) if mod else None)
    if post is None:
        st.warning(tr("board.error.not_found"))
        return
    if post.status != "visible":
        st.warning(tr("board.admin.hidden_notice", reports=post.report_count))
    user_title(post.title, key=f"view_{post.id}", heading=True)
    st.caption(post_meta(post))
    if post.updated_at:
        st.caption(tr("board.post.edited", time=format_time(post.updated_at)))
    user_text(post.body)
    if post.summary:
        with st.container(border=True):
            st.caption(tr("board.summary.heading"))
            summary_block(post.summary)
    if post.status == "visible":
        _actions(board, post)
    if mod:
        moderation_buttons(mod, post, prefix="post")
    st.divider()
    _comments(board, mod, post)
    if post.status == "visible":
        owner_tools(board, post)


# ---------------------------------------------------------------------- page

st.title(tr("board.title"))
st.caption(tr("board.intro"))
try:
    _board = get_board()
except Exception:  # unreadable or too-new database file: say so instead of crashing
    st.error(tr("board.error.unavailable"), icon=":material/error:")
    st.stop()
title_style()
keep_visitor_cookie()
_mod = session_moderator(_board)
_flash = st.session_state.pop(FLASH_KEY, None)
if _flash:
    st.success(tr(_flash))
_open_id = st.session_state.get(OPEN_POST_KEY)
if _open_id:
    _post_view(_board, _mod, int(_open_id))
else:
    _list_view(_board)
    admin_panel(_board, _mod)
