"""Small Streamlit helpers every page uses: the current language, translation, errors.

Pages call ``tr("chest.title")`` instead of ``t(key, lang)``. The language lives in
``st.session_state["lang"]`` (set by the switch in ``app.py``; first guess from the
browser's locale).
"""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import DEFAULT_LANG, normalize_lang, t

LANG_KEY = "lang"


def guess_browser_lang() -> str:
    """The browser's preferred language if Streamlit exposes it, else Korean."""
    try:
        locale = st.context.locale  # type: ignore[attr-defined]
    except Exception:  # older Streamlit or no browser (AppTest)
        locale = None
    return normalize_lang(locale) if locale else DEFAULT_LANG


def lang() -> str:
    """The language of this session ("ko" or "en")."""
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = guess_browser_lang()
    return normalize_lang(st.session_state[LANG_KEY])


def tr(key: str, /, **params: object) -> str:
    """Translate ``key`` into the session's language."""
    return t(key, lang(), **params)


def show_user_error(err: UserError) -> None:
    """Show a translated error box for a problem the user can fix."""
    st.error(err.message(lang()), icon=":material/warning:")
