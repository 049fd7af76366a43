"""Scalp page: the optional local history behind a code only the user knows (save, compare, delete
after a confirmation) and sharing to the community board."""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.scalp import CONDITIONS, HistoryEntry, HistoryStore, ScalpResult, compare
from core.scalp.history import code_marker, new_code
from core.scalp.texts import grade_label, method_label, short_time
from ui.common import lang, show_user_error, tr
from ui.share import share_to_board

S = st.session_state


def _make_code() -> None:
    S["scalp_history_new_code"] = S["scalp_history_code"] = new_code()
    S.pop("scalp_history_confirm", None)


def _history_code() -> str:
    """The code input, with a button that makes a strong code for the user to keep."""
    st.button(tr("scalp.history.new"), key="scalp_history_new", on_click=_make_code)
    code = st.text_input(tr("scalp.history.code"), type="password", key="scalp_history_code",
                         help=tr("scalp.history.code_help"))
    fresh = S.get("scalp_history_new_code")
    if fresh and code == fresh:
        st.info(tr("scalp.history.new_code"), icon=":material/key:")
        st.code(fresh, language=None)
    return code


def _arm_delete(code: str) -> None:
    S["scalp_history_confirm"] = code_marker(code)


def _cancel_delete() -> None:
    S.pop("scalp_history_confirm", None)


def _confirm_delete(code: str) -> None:
    S.pop("scalp_history_confirm", None)
    S.pop("scalp_history_saved", None)  # this result may be saved again afterwards
    try:
        S["scalp_history_deleted"] = HistoryStore().delete(code)
    except (UserError, OSError):
        S["scalp_history_deleted"] = None
        S["scalp_history_failed"] = True


def _history_delete(code: str, n: int) -> None:
    """Deleting asks first: "Delete my history" arms it, "Yes, delete" deletes, "Cancel" disarms."""
    st.button(tr("scalp.history.delete"), key="scalp_history_delete", disabled=n == 0,
              on_click=_arm_delete, args=(code,))
    armed = S.get("scalp_history_confirm")
    if armed is None or n == 0:
        return
    if armed != code_marker(code):  # the code changed since: ask again
        S.pop("scalp_history_confirm", None)
        return
    st.warning(tr("scalp.history.delete_confirm", n=n), icon=":material/delete_forever:")
    yes, no = st.columns(2)
    yes.button(tr("scalp.history.delete_yes"), key="scalp_history_delete_yes", type="primary",
               on_click=_confirm_delete, args=(code,))
    no.button(tr("scalp.history.delete_cancel"), key="scalp_history_delete_no", on_click=_cancel_delete)


def _history_table(entries: list[HistoryEntry]) -> None:
    code = lang()
    st.table({
        tr("scalp.history.col_time"): [short_time(e.time) for e in entries],
        tr("scalp.history.col_method"): [method_label(e, code) for e in entries],
        **{tr(f"scalp.condition.{c}"): [grade_label(e.final_grades.get(c), code) for e in entries] for c in CONDITIONS},
    })
    comparison = compare(entries)
    latest = comparison.latest
    if latest is None or len(entries) < 2:
        return
    for skipped in comparison.skipped[:1]:  # the check just before, graded another way
        st.caption(tr("scalp.history.not_compared_method", time=short_time(skipped.time),
                      before=method_label(skipped, code), after=method_label(latest, code)))
    if comparison.previous is None:
        st.caption(tr("scalp.history.no_same_method", method=method_label(latest, code)))
        return
    st.caption(tr("scalp.history.compared_with", time=short_time(comparison.previous.time),
                  method=method_label(latest, code)))
    moved = False
    for change in comparison.changes:
        name = tr(f"scalp.condition.{change.condition}")
        if change.reason_key:
            st.caption(tr(change.reason_key, condition=name))
        elif change.delta:
            moved = True
            key = "scalp.history.worse" if change.delta > 0 else "scalp.history.better"
            st.caption(tr(key, condition=name, before=change.previous, after=change.latest))
    if not moved:
        st.caption(tr("scalp.history.unchanged"))


def history(result: ScalpResult) -> None:
    """Opt-in: save this check under the user's code, see earlier checks and changes, delete them."""
    st.subheader(tr("scalp.history.title"))
    st.caption(tr("scalp.history.help"))
    if not st.toggle(tr("scalp.history.opt_in"), key="scalp_history_on"):
        return
    store = HistoryStore()
    code = _history_code()
    deleted = S.pop("scalp_history_deleted", None)
    if deleted is not None:
        st.info(tr("scalp.history.deleted", n=deleted))
    if S.pop("scalp_history_failed", False):
        st.error(tr("scalp.history.io_error"))
    if not code:
        return
    try:
        entries = store.entries(code)  # checks the code (HistoryError when too weak)
        left, right = st.columns(2)
        with left:
            if st.button(tr("scalp.history.save"), key="scalp_history_save"):
                saved = S.setdefault("scalp_history_saved", set())
                marker = (code_marker(code), result.created)
                if marker not in saved:
                    entries = store.add(code, result.history_entry())
                    saved.add(marker)
                st.success(tr("scalp.history.saved"))
        with right:
            _history_delete(code, len(entries))
        if entries:
            _history_table(entries)
    except UserError as err:
        show_user_error(err)
    except OSError:
        st.error(tr("scalp.history.io_error"))


def share(result: ScalpResult) -> None:
    """Opt-in sharing of the grades to the community board."""
    st.subheader(tr("scalp.share.title"))
    share_to_board("scalp", result.share_summary(lang()), key="scalp_share")
