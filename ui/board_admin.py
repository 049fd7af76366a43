"""The community board's moderation UI: the admin-secret unlock, the queue of hidden and
reported posts, and the restore / hide / delete buttons. The secret is checked (and failures
counted) by :meth:`core.board.Board.moderator` on every run."""

from __future__ import annotations

import streamlit as st

from core.board import Board, Moderator, Post
from core.errors import UserError
from ui.board_forms import done, open_post, post_meta
from ui.common import show_user_error, tr
from ui.share import admin_secret, user_text, user_title, visitor_id

ADMIN_KEY = "board_admin_secret"
MOD_PAGE_KEY = "board_mod_page"


def session_moderator(board: Board) -> Moderator | None:
    """The moderator handle of this session when it unlocked moderation (None otherwise, or
    once the secret stops working)."""
    secret = st.session_state.get(ADMIN_KEY)
    if not secret:
        return None
    try:
        return board.moderator(visitor_id(), secret, admin_secret())
    except UserError:
        st.session_state.pop(ADMIN_KEY, None)
        return None


def admin_panel(board: Board, mod: Moderator | None) -> None:
    """The moderation expander: unlock with the admin secret, then the queue."""
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
                done("board.flash.admin_unlocked")
            return
        if st.button(tr("board.admin.lock"), key="board_admin_lock"):
            st.session_state.pop(ADMIN_KEY, None)
            st.rerun()
        queue = mod.queue(page=int(st.session_state.get(MOD_PAGE_KEY) or 1))
        st.caption(tr("board.admin.queue", total=queue.total))
        for post in queue.items:
            with st.container(border=True):
                user_title(post.title, key=f"queue_{post.id}")
                st.caption(post_meta(post))
                st.caption(tr(f"board.admin.status.{post.status}", reports=post.report_count))
                reasons = [r.reason for r in mod.reports(post.id) if r.reason]
                if reasons:
                    user_text("\n".join(f"- {reason}" for reason in reasons))
                moderation_buttons(mod, post, prefix="queue")
        if queue.pages > 1:
            st.pagination(queue.pages, default=queue.page, key=MOD_PAGE_KEY)


def moderation_buttons(mod: Moderator, post: Post, prefix: str) -> None:
    """Open (in the queue), restore, hide and delete buttons of one post."""
    cols = st.columns(4)
    if prefix == "queue":
        cols[0].button(tr("board.post.open"), key=f"board_mod_{prefix}_open_{post.id}", on_click=open_post, args=(post.id,))
    try:
        if post.status == "hidden" or post.report_count:
            if cols[1].button(tr("board.admin.restore"), key=f"board_mod_{prefix}_restore_{post.id}"):
                mod.restore(post.id)
                done("board.flash.restored")
        if post.status == "visible" and cols[2].button(tr("board.admin.hide"), key=f"board_mod_{prefix}_hide_{post.id}"):
            mod.hide(post.id)
            done("board.flash.hidden")
        if cols[3].button(tr("board.admin.delete"), key=f"board_mod_{prefix}_delete_{post.id}", type="primary"):
            mod.delete_post(post.id)
            done("board.flash.deleted", open_post=None)
    except UserError as err:
        show_user_error(err)
