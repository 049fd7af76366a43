"""Small Streamlit helpers every page uses: the current language, translation, errors.

Pages call ``tr("chest.title")`` instead of ``t(key, lang)``. The language lives in
``st.session_state["lang"]`` (set by the switch in ``app.py``; first guess from the
browser's locale).
"""

from __future__ import annotations

from collections.abc import Callable

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


#: Streamlit's file uploader writes "Upload" and "200MB per file" in English and has no option to
#: change them; this style shows translated texts in their place (the English text is set to size 0,
#: the translation drawn after it). It relies on Streamlit's test ids for the drop zone, its button
#: and its instructions, which a browser test checks (``tests/browser/test_shell_i18n_browser.py``).
#: A browser set to reduce motion (an accessibility setting: vestibular disorders, slow PCs) gets no
#: fades or spinning icons: Streamlit's own elements are moved to their end state at once (WCAG 2.3.3).
_STREAMLIT_TEXTS_CSS = """<style>
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {
  font-size: 0;
}
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {
  content: %(upload)s; font-size: 0.875rem;
}
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after { content: %(limit)s; font-size: 0.875rem; }
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {
    animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; transition-delay: 0s !important; scroll-behavior: auto !important;
  }
}
</style>"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes and backslashes escaped, no line breaks)."""
    clean = " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{clean}"'


def streamlit_texts() -> None:
    """Show Streamlit's own uploader texts in the session's language (call once per run, from the
    app shell). The size limit is the server's ``server.maxUploadSize``."""
    try:
        limit_mb = int(st.get_option("server.maxUploadSize"))
    except Exception:  # no such option (another Streamlit): Streamlit's default
        limit_mb = 200
    st.html(_STREAMLIT_TEXTS_CSS % {"upload": _css_string(tr("app.st.upload")),
                                    "limit": _css_string(tr("app.st.per_file", limit=limit_mb))})


def show_user_error(err: UserError) -> None:
    """Show a translated error box for a problem the user can fix."""
    st.error(err.message(lang()), icon=":material/warning:")


def fmt(prefix: str) -> Callable[[object], str]:
    """A ``format_func`` for choice widgets: option ``value`` shown as ``tr(prefix + str(value))``, in the
    language of this run (bound now, so AppTest formats the options the same)."""
    code = lang()
    return lambda value: t(prefix + str(value), code)
