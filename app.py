"""Dr.DeepChest: navigation, language switch and the intended-use notice. Nothing else."""

from __future__ import annotations

import streamlit as st

from core.i18n import LANGUAGE_NAMES, SUPPORTED
from ui.common import LANG_KEY, lang, streamlit_texts, tr

st.set_page_config(page_title="Dr.DeepChest", page_icon=":material/radiology:", layout="wide")


def _on_language_change() -> None:
    choice = st.session_state.get("lang_switch")
    if choice in SUPPORTED:
        st.session_state[LANG_KEY] = choice


current = lang()  # first visit: guess from the browser's locale (Korean by default)
with st.sidebar:
    st.segmented_control(
        tr("app.language"),
        options=list(SUPPORTED),
        format_func=LANGUAGE_NAMES.__getitem__,
        default=current,
        key="lang_switch",
        on_change=_on_language_change,
        required=True,
    )

streamlit_texts()  # Streamlit's own uploader texts in the session's language


def _home_alias() -> None:
    """``/home`` opens the home page. Streamlit serves the default page at ``/`` only: the pathname
    it reserves for it (here ``start``) is not served, so ``/home`` is this hidden page instead."""
    st.switch_page(home)


home = st.Page("views/home.py", title=tr("app.page.home"), icon=":material/home:", url_path="start", default=True)
pages = {
    "": [home, st.Page(_home_alias, title=tr("app.page.home"), url_path="home", visibility="hidden")],
    tr("app.section.tools"): [
        st.Page("views/chest.py", title=tr("app.page.chest"), icon=":material/pulmonology:", url_path="chest"),
        st.Page("views/shoulder.py", title=tr("app.page.shoulder"), icon=":material/skeleton:", url_path="shoulder"),
        st.Page("views/scalp.py", title=tr("app.page.scalp"), icon=":material/face:", url_path="scalp"),
    ],
    tr("app.section.more"): [
        st.Page("views/community.py", title=tr("app.page.community"), icon=":material/forum:", url_path="community"),
        st.Page("views/models.py", title=tr("app.page.models"), icon=":material/inventory_2:", url_path="models"),
    ],
}
navigation = st.navigation(pages)
st.info(tr("app.intended_use"), icon=":material/medical_information:")
navigation.run()
st.divider()
st.caption(tr("app.privacy") + "  ·  " + tr("app.footer"))
