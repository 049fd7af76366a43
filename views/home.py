"""Home: what each tool does."""

import streamlit as st

from ui.common import tr

st.title(tr("app.home.welcome"))
st.write(tr("app.home.intro"))
cols = st.columns(3)
for col, (page, icon) in zip(
    cols, [("chest", ":material/pulmonology:"), ("shoulder", ":material/skeleton:"), ("scalp", ":material/face:")], strict=True
):
    with col.container(border=True):
        st.subheader(f"{icon} {tr('app.page.' + page)}")
        st.write(tr("app.home." + page))
        st.page_link(f"views/{page}.py", label=tr("app.page." + page), icon=":material/arrow_forward:")
cols = st.columns(2)
for col, page in zip(cols, ["community", "models"], strict=True):
    with col.container(border=True):
        st.subheader(tr("app.page." + page))
        st.write(tr("app.home." + page))
        st.page_link(f"views/{page}.py", label=tr("app.page." + page), icon=":material/arrow_forward:")
