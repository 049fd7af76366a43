"""Community board page: questions and experiences about chest, bone and scalp health.

Thin page: widgets -> one ``core.board`` call -> display. User text is shown with ``st.text``
(bodies, comments, and titles: ``ui.share.user_title``, so a URL title is never a link) or,
for nicknames inside captions, Markdown-escaped with autolinks cut; never as HTML. The page
keeps the browser's signed visitor cookie (``ui.share.keep_visitor_cookie``): likes, reports
and limits follow the browser. The app shell renders the language switch and the
intended-use notice.
"""

from __future__ import annotations

import streamlit as st

from core.board import CATEGORIES, SORTS, Board, Comment, Moderator, Post, escape_markdown
from core.errors import UserError
from ui.common import show_user_error, tr
from ui.share import (
    NICKNAME_KEY,
    OPEN_POST_KEY,
    admin_secret,
    format_time,
    get_board,
    keep_visitor_cookie,
    summary_block,
    title_style,
    user_text,
    user_title,
    visitor_id,
)

FLASH_KEY = "board_flash"
VIEWED_KEY = "board_viewed"
ADMIN_KEY = "board_admin_secret"
PAGE_KEY = "board_page"
MOD_PAGE_KEY = "board_mod_page"
FORM_ROUND_KEY = "board_form_round"


def _category_label(category: str) -> str:
    return tr(f"board.category.{category}")


def _labels(prefix: str, values: tuple[str, ...]) -> dict[str, str]:
    """Option labels translated now (format_func must not depend on later state)."""
    return {value: tr(f"{prefix}.{value}") for value in values}


def _open(post_id: int | None) -> None:
    st.session_state[OPEN_POST_KEY] = post_id


def _reset_page() -> None:
    st.session_state.pop(PAGE_KEY, None)


def _done(flash_key: str, open_post: int | None | bool = False) -> None:
    """Remember a success message for the next run, optionally switch post, and rerun."""
    st.session_state[FLASH_KEY] = flash_key
    if open_post is not False:
        st.session_state[OPEN_POST_KEY] = open_post
    st.session_state[FORM_ROUND_KEY] = st.session_state.get(FORM_ROUND_KEY, 0) + 1
    st.rerun()


def _round() -> int:
    """Suffix for form keys: bumped after each success so forms come back empty."""
    return int(st.session_state.get(FORM_ROUND_KEY, 0))


def _k(name: str) -> str:
    """A form widget key for this round (a new round gives fresh, empty widgets)."""
    return f"{name}_{_round()}"


def _meta(post: Post) -> str:
    return tr(
        "board.post.meta",
        category=_category_label(post.category),
        nickname=escape_markdown(post.nickname),
        time=format_time(post.created_at),
        views=post.view_count,
        likes=post.like_count,
        comments=post.comment_count,
    )


def _moderator(board: Board) -> Moderator | None:
    secret = st.session_state.get(ADMIN_KEY)
    if not secret:
        return None
    try:
        return board.moderator(visitor_id(), secret, admin_secret())
    except UserError:
        st.session_state.pop(ADMIN_KEY, None)
        return None


# ---------------------------------------------------------------------- list view


def _new_post_form(board: Board) -> None:
    cfg = board.config
    with st.expander(tr("board.write.open"), icon=":material/edit:"):
        with st.form(key=f"board_new_post_{_round()}"):
            category = st.selectbox(
                tr("board.field.category"),
                CATEGORIES,
                format_func=_labels("board.category", CATEGORIES).__getitem__,
                key=_k("board_new_category"),
            )
            title = st.text_input(tr("board.field.title"), max_chars=cfg.title_max, key=_k("board_new_title"))
            body = st.text_area(tr("board.field.body"), max_chars=cfg.body_max, height=180, key=_k("board_new_body"))
            left, right = st.columns(2)
            nickname = left.text_input(
                tr("board.field.nickname"),
                value=st.session_state.get(NICKNAME_KEY, ""),
                max_chars=cfg.nickname_max,
                key=_k("board_new_nickname"),
            )
            password = right.text_input(
                tr("board.field.password"),
                type="password",
                max_chars=cfg.password_max,
                help=tr("board.field.password_help"),
                key=_k("board_new_password"),
            )
            st.caption(tr("board.write.rules"))
            submitted = st.form_submit_button(tr("board.write.submit"), type="primary")
    if submitted:
        try:
            post_id = board.create_post(
                visitor_id(), category=category, title=title, body=body, nickname=nickname, password=password
            )
        except UserError as err:
            show_user_error(err)
            return
        st.session_state[NICKNAME_KEY] = nickname.strip()
        _done("board.flash.posted", open_post=post_id)


def _post_card(post: Post, key: str) -> None:
    with st.container(border=True):
        left, right = st.columns([6, 1], vertical_alignment="center")
        with left:
            user_title(post.title, key=f"card_{post.id}")
            st.caption(_meta(post))
        right.button(tr("board.post.open"), key=key, on_click=_open, args=(post.id,))


def _list_view(board: Board) -> None:
    _new_post_form(board)
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
        format_func=_labels("board.category", ("all", *CATEGORIES)).__getitem__,
        key="board_category",
        on_change=_reset_page,
        persist_state="page",
    )
    sort = sort_col.radio(
        tr("board.filter.sort"),
        SORTS,
        format_func=_labels("board.sort", SORTS).__getitem__,
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


def _admin_panel(board: Board, mod: Moderator | None) -> None:
    expected = admin_secret()
    with st.expander(tr("board.admin.title"), icon=":material/shield:", expanded=mod is not None):
        if not expected:
            st.caption(tr("board.admin.off"))
            return
        if mod is None:
            with st.form(key="board_admin_unlock"):
                secret = st.text_input(tr("board.admin.secret"), type="password", key="board_admin_input")
                submitted = st.form_submit_button(tr("board.admin.unlock"))
            if submitted:
                try:
                    board.moderator(visitor_id(), secret, expected)
                except UserError as err:
                    show_user_error(err)
                    return
                st.session_state[ADMIN_KEY] = secret
                _done("board.flash.admin_unlocked")
            return
        if st.button(tr("board.admin.lock"), key="board_admin_lock"):
            st.session_state.pop(ADMIN_KEY, None)
            st.rerun()
        queue = mod.queue(page=int(st.session_state.get(MOD_PAGE_KEY) or 1))
        st.caption(tr("board.admin.queue", total=queue.total))
        for post in queue.items:
            with st.container(border=True):
                user_title(post.title, key=f"queue_{post.id}")
                st.caption(_meta(post))
                st.caption(tr(f"board.admin.status.{post.status}", reports=post.report_count))
                reasons = [r.reason for r in mod.reports(post.id) if r.reason]
                if reasons:
                    user_text("\n".join(f"- {reason}" for reason in reasons))
                _moderation_buttons(mod, post, prefix="queue")
        if queue.pages > 1:
            st.pagination(queue.pages, default=queue.page, key=MOD_PAGE_KEY)


def _moderation_buttons(mod: Moderator, post: Post, prefix: str) -> None:
    cols = st.columns(4)
    if prefix == "queue":
        cols[0].button(tr("board.post.open"), key=f"board_mod_{prefix}_open_{post.id}", on_click=_open, args=(post.id,))
    try:
        if post.status == "hidden" or post.report_count:
            if cols[1].button(tr("board.admin.restore"), key=f"board_mod_{prefix}_restore_{post.id}"):
                mod.restore(post.id)
                _done("board.flash.restored")
        if post.status == "visible" and cols[2].button(tr("board.admin.hide"), key=f"board_mod_{prefix}_hide_{post.id}"):
            mod.hide(post.id)
            _done("board.flash.hidden")
        if cols[3].button(tr("board.admin.delete"), key=f"board_mod_{prefix}_delete_{post.id}", type="primary"):
            mod.delete_post(post.id)
            _done("board.flash.deleted", open_post=None)
    except UserError as err:
        show_user_error(err)


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
                    _done("board.flash.reported_hidden" if result.hidden else "board.flash.reported",
                          open_post=None if result.hidden else post.id)


def _owner_tools(board: Board, post: Post) -> None:
    cfg = board.config
    with st.expander(tr("board.owner.title"), icon=":material/key:"):
        with st.form(key=f"board_owner_{post.id}_{_round()}"):
            left, right = st.columns(2)
            nickname = left.text_input(tr("board.field.nickname"), max_chars=cfg.nickname_max, key=_k("board_owner_nickname"))
            password = right.text_input(
                tr("board.field.password"), type="password", max_chars=cfg.password_max, key=_k("board_owner_password")
            )
            category = st.selectbox(
                tr("board.field.category"),
                CATEGORIES,
                index=CATEGORIES.index(post.category),
                format_func=_labels("board.category", CATEGORIES).__getitem__,
                key=_k("board_owner_category"),
            )
            title = st.text_input(tr("board.field.title"), value=post.title, max_chars=cfg.title_max, key=_k("board_owner_title"))
            body = st.text_area(
                tr("board.field.body"), value=post.body, max_chars=cfg.body_max, height=180, key=_k("board_owner_body")
            )
            confirm = st.checkbox(tr("board.owner.confirm_delete"), key=_k("board_owner_confirm"))
            save_col, delete_col = st.columns(2)
            save = save_col.form_submit_button(tr("board.owner.save"), type="primary")
            delete = delete_col.form_submit_button(tr("board.owner.delete"))
    if not (save or delete):
        return
    try:
        if save:
            board.edit_post(
                visitor_id(), post.id, nickname=nickname, password=password, title=title, body=body, category=category
            )
            _done("board.flash.edited")
        elif not confirm:
            st.warning(tr("board.owner.confirm_needed"))
        else:
            board.delete_post(visitor_id(), post.id, nickname=nickname, password=password)
            _done("board.flash.deleted", open_post=None)
    except UserError as err:
        show_user_error(err)


def _comments(board: Board, mod: Moderator | None, post: Post) -> None:
    cfg = board.config
    comments = mod.comments(post.id) if mod else board.list_comments(post.id)
    st.subheader(tr("board.comments.heading", count=len(comments)))
    for comment in comments:
        with st.container(border=True):
            st.caption(_comment_meta(comment))
            user_text(comment.body)
            if mod and st.button(tr("board.admin.delete_comment"), key=f"board_mod_delc_{comment.id}"):
                try:
                    mod.delete_comment(comment.id)
                except UserError as err:
                    show_user_error(err)
                else:
                    _done("board.flash.comment_deleted")
    if post.status != "visible":
        return
    with st.form(key=f"board_comment_{post.id}_{_round()}"):
        body = st.text_area(tr("board.comment.body"), max_chars=cfg.comment_max, height=100, key=_k("board_comment_body"))
        left, right = st.columns(2)
        nickname = left.text_input(
            tr("board.field.nickname"),
            value=st.session_state.get(NICKNAME_KEY, ""),
            max_chars=cfg.nickname_max,
            key=_k("board_comment_nickname"),
        )
        password = right.text_input(
            tr("board.field.password"),
            type="password",
            max_chars=cfg.password_max,
            help=tr("board.field.password_help"),
            key=_k("board_comment_password"),
        )
        st.caption(tr("board.comment.rules"))
        submitted = st.form_submit_button(tr("board.comment.submit"))
    if submitted:
        try:
            board.add_comment(visitor_id(), post.id, nickname=nickname, password=password, body=body)
        except UserError as err:
            show_user_error(err)
        else:
            st.session_state[NICKNAME_KEY] = nickname.strip()
            _done("board.flash.commented")
    if comments:
        _comment_owner_tools(board, comments)


def _comment_meta(comment: Comment) -> str:
    params = {"id": comment.id, "nickname": escape_markdown(comment.nickname), "time": format_time(comment.created_at)}
    if comment.updated_at:
        return tr("board.comment.meta_edited", edited=format_time(comment.updated_at), **params)
    return tr("board.comment.meta", **params)


def _comment_owner_tools(board: Board, comments: list[Comment]) -> None:
    """Edit or delete one of my comments (its nickname + password). The comment is chosen
    outside the form so the text box opens with that comment's text."""
    cfg = board.config
    by_id = {c.id: c for c in comments}
    with st.expander(tr("board.comment.manage_open"), icon=":material/key:"):
        comment_id = st.selectbox(
            tr("board.comment.which"),
            list(by_id),
            format_func={c.id: tr("board.comment.option", id=c.id) for c in comments}.__getitem__,
            key=_k("board_comment_manage_id"),
        )
        chosen = by_id.get(comment_id) if comment_id is not None else None
        if chosen is None:
            return
        with st.form(key=f"board_comment_manage_{chosen.id}_{_round()}"):
            body = st.text_area(
                tr("board.comment.body"),
                value=chosen.body,
                max_chars=cfg.comment_max,
                height=100,
                key=_k(f"board_comment_edit_body_{chosen.id}"),
            )
            left, right = st.columns(2)
            nickname = left.text_input(
                tr("board.field.nickname"), max_chars=cfg.nickname_max, key=_k("board_comment_manage_nickname")
            )
            password = right.text_input(
                tr("board.field.password"), type="password", max_chars=cfg.password_max,
                key=_k("board_comment_manage_password"),
            )
            confirm = st.checkbox(tr("board.comment.confirm_delete"), key=_k("board_comment_manage_confirm"))
            save_col, delete_col = st.columns(2)
            save = save_col.form_submit_button(tr("board.comment.save"), type="primary")
            delete = delete_col.form_submit_button(tr("board.comment.delete"))
    if not (save or delete):
        return
    if delete and not save and not confirm:  # a deleted comment cannot be brought back
        st.warning(tr("board.comment.confirm_needed"))
        return
    try:
        if save:
            board.edit_comment(visitor_id(), chosen.id, nickname=nickname, password=password, body=body)
        else:
            board.delete_comment(visitor_id(), chosen.id, nickname=nickname, password=password)
    except UserError as err:
        show_user_error(err)
    else:
        _done("board.flash.comment_edited" if save else "board.flash.comment_deleted")


def _post_view(board: Board, mod: Moderator | None, post_id: int) -> None:
    st.button(tr("board.post.back"), key="board_back", on_click=_open, args=(None,), icon=":material/arrow_back:")
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
    st.caption(_meta(post))
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
        _moderation_buttons(mod, post, prefix="post")
    st.divider()
    _comments(board, mod, post)
    if post.status == "visible":
        _owner_tools(board, post)


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
_mod = _moderator(_board)
_flash = st.session_state.pop(FLASH_KEY, None)
if _flash:
    st.success(tr(_flash))
_open_id = st.session_state.get(OPEN_POST_KEY)
if _open_id:
    _post_view(_board, _mod, int(_open_id))
else:
    _list_view(_board)
    _admin_panel(_board, _mod)
