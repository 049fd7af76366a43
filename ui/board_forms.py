"""The community board's forms: one nickname + password widget (new posts, comments, owner
tools, the share widget), the write / comment / owner forms, and the form rounds that make a
form come back empty after a success.

User text is never shown as HTML here; every action is one ``core.board`` call whose
:class:`~core.errors.UserError` is shown with :func:`ui.common.show_user_error`.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.board import CATEGORIES, Board, BoardConfig, Comment, Post, escape_markdown
from core.errors import UserError
from ui.common import show_user_error, tr
from ui.share import NICKNAME_KEY, OPEN_POST_KEY, credentials, format_time, visitor_id

FLASH_KEY = "board_flash"
FORM_ROUND_KEY = "board_form_round"


def labels(prefix: str, values: tuple[str, ...]) -> dict[str, str]:
    """Option labels translated now (format_func must not depend on later state)."""
    return {value: tr(f"{prefix}.{value}") for value in values}


def open_post(post_id: int | None) -> None:
    """Open a post (None: back to the list); a button callback."""
    st.session_state[OPEN_POST_KEY] = post_id


def done(flash_key: str, open_post: int | None | bool = False) -> None:
    """Remember a success message for the next run, optionally switch post, and rerun."""
    st.session_state[FLASH_KEY] = flash_key
    if open_post is not False:
        st.session_state[OPEN_POST_KEY] = open_post
    st.session_state[FORM_ROUND_KEY] = st.session_state.get(FORM_ROUND_KEY, 0) + 1
    st.rerun()


def form_round() -> int:
    """Suffix for form keys: bumped after each success so forms come back empty."""
    return int(st.session_state.get(FORM_ROUND_KEY, 0))


def round_key(name: str) -> str:
    """A form widget key for this round (a new round gives fresh, empty widgets)."""
    return f"{name}_{form_round()}"


def post_meta(post: Post) -> str:
    """A post's caption: category, nickname (Markdown-escaped), time and counts."""
    return tr(
        "board.post.meta",
        category=tr(f"board.category.{post.category}"),
        nickname=escape_markdown(post.nickname),
        time=format_time(post.created_at),
        views=post.view_count,
        likes=post.like_count,
        comments=post.comment_count,
    )


def comment_meta(comment: Comment) -> str:
    """A comment's caption: number, nickname (Markdown-escaped), time, and when edited."""
    params = {"id": comment.id, "nickname": escape_markdown(comment.nickname), "time": format_time(comment.created_at)}
    if comment.updated_at:
        return tr("board.comment.meta_edited", edited=format_time(comment.updated_at), **params)
    return tr("board.comment.meta", **params)


def _round_credentials(cfg: BoardConfig, name: str, *, new: bool) -> tuple[str, str]:
    return credentials(cfg, round_key(f"{name}_nickname"), round_key(f"{name}_password"), new=new)


def _category(name: str, current: str | None = None) -> str:
    return st.selectbox(
        tr("board.field.category"),
        CATEGORIES,
        index=CATEGORIES.index(current) if current else 0,
        format_func=labels("board.category", CATEGORIES).__getitem__,
        key=round_key(name),
    )


def new_post_form(board: Board) -> None:
    """The 'write a post' form; opens the new post once published."""
    cfg = board.config
    with st.expander(tr("board.write.open"), icon=":material/edit:"):
        with st.form(key=f"board_new_post_{form_round()}"):
            category = _category("board_new_category")
            title = st.text_input(tr("board.field.title"), max_chars=cfg.title_max, key=round_key("board_new_title"))
            body = st.text_area(tr("board.field.body"), max_chars=cfg.body_max, height=180, key=round_key("board_new_body"))
            nickname, password = _round_credentials(cfg, "board_new", new=True)
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
        done("board.flash.posted", open_post=post_id)


def _owner_buttons(confirm_label: str, confirm_key: str, save_label: str, delete_label: str) -> tuple[bool, bool, bool]:
    """(confirmed, save pressed, delete pressed): the end of an owner form."""
    confirm = st.checkbox(tr(confirm_label), key=round_key(confirm_key))
    save_col, delete_col = st.columns(2)
    save = save_col.form_submit_button(tr(save_label), type="primary")
    return confirm, save, delete_col.form_submit_button(tr(delete_label))


def _owner_action(
    buttons: tuple[bool, bool, bool], confirm_needed: str, on_save: Callable[[], None], on_delete: Callable[[], None]
) -> None:
    """Run the owner's save or delete (a delete only once confirmed: it cannot be undone)."""
    confirm, save, delete = buttons
    if not (save or delete):
        return
    if delete and not save and not confirm:
        st.warning(tr(confirm_needed))
        return
    try:
        (on_save if save else on_delete)()
    except UserError as err:
        show_user_error(err)


def owner_tools(board: Board, post: Post) -> None:
    """Edit or delete a post with its nickname + password."""
    cfg = board.config
    with st.expander(tr("board.owner.title"), icon=":material/key:"):
        with st.form(key=f"board_owner_{post.id}_{form_round()}"):
            nickname, password = _round_credentials(cfg, "board_owner", new=False)
            category = _category("board_owner_category", post.category)
            title = st.text_input(tr("board.field.title"), value=post.title, max_chars=cfg.title_max,
                                  key=round_key("board_owner_title"))
            body = st.text_area(tr("board.field.body"), value=post.body, max_chars=cfg.body_max, height=180,
                                key=round_key("board_owner_body"))
            buttons = _owner_buttons("board.owner.confirm_delete", "board_owner_confirm", "board.owner.save",
                                     "board.owner.delete")

    def save() -> None:
        board.edit_post(visitor_id(), post.id, nickname=nickname, password=password, title=title, body=body,
                        category=category)
        done("board.flash.edited")

    def delete() -> None:
        board.delete_post(visitor_id(), post.id, nickname=nickname, password=password)
        done("board.flash.deleted", open_post=None)

    _owner_action(buttons, "board.owner.confirm_needed", save, delete)


def comment_form(board: Board, post: Post) -> None:
    """The 'add a comment' form of a visible post."""
    cfg = board.config
    with st.form(key=f"board_comment_{post.id}_{form_round()}"):
        body = st.text_area(tr("board.comment.body"), max_chars=cfg.comment_max, height=100,
                            key=round_key("board_comment_body"))
        nickname, password = _round_credentials(cfg, "board_comment", new=True)
        st.caption(tr("board.comment.rules"))
        submitted = st.form_submit_button(tr("board.comment.submit"))
    if submitted:
        try:
            board.add_comment(visitor_id(), post.id, nickname=nickname, password=password, body=body)
        except UserError as err:
            show_user_error(err)
        else:
            st.session_state[NICKNAME_KEY] = nickname.strip()
            done("board.flash.commented")


def comment_owner_tools(board: Board, comments: list[Comment]) -> None:
    """Edit or delete one of my comments (its nickname + password). The comment is chosen
    outside the form so the text box opens with that comment's text."""
    cfg = board.config
    by_id = {c.id: c for c in comments}
    with st.expander(tr("board.comment.manage_open"), icon=":material/key:"):
        comment_id = st.selectbox(
            tr("board.comment.which"),
            list(by_id),
            format_func={c.id: tr("board.comment.option", id=c.id) for c in comments}.__getitem__,
            key=round_key("board_comment_manage_id"),
        )
        chosen = by_id.get(comment_id) if comment_id is not None else None
        if chosen is None:
            return
        with st.form(key=f"board_comment_manage_{chosen.id}_{form_round()}"):
            body = st.text_area(tr("board.comment.body"), value=chosen.body, max_chars=cfg.comment_max, height=100,
                                key=round_key(f"board_comment_edit_body_{chosen.id}"))
            nickname, password = _round_credentials(cfg, "board_comment_manage", new=False)
            buttons = _owner_buttons("board.comment.confirm_delete", "board_comment_manage_confirm",
                                     "board.comment.save", "board.comment.delete")

    def save() -> None:
        board.edit_comment(visitor_id(), chosen.id, nickname=nickname, password=password, body=body)
        done("board.flash.comment_edited")

    def delete() -> None:
        board.delete_comment(visitor_id(), chosen.id, nickname=nickname, password=password)
        done("board.flash.comment_deleted")

    _owner_action(buttons, "board.comment.confirm_needed", save, delete)
