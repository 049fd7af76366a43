"""Scalp page input: the photo (upload, camera, test photo or a presenter's sample) and the
questionnaire form."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import UserError
from core.samples import list_samples
from core.scalp import MULTI, SINGLE, Questionnaire
from core.scalp.questionnaire import default_index
from ui.common import show_user_error, tr
from ui.demo import sample_picker
from ui.options import option_labels

S = st.session_state



@st.cache_data(show_spinner=False, max_entries=2)
def _demo_photo() -> bytes:
    from core.scalp.synthetic import encode_jpeg, make_phantom

    return encode_jpeg(make_phantom(seed=7, hairs=22, pustules=1, follicle_a_star=24.0).rgb)


def photo_input() -> tuple[str, bytes] | None:
    """(file name, bytes) of the photo to check: an upload, else a camera shot, else the test photo
    or sample loaded last; ``None`` when there is none."""
    tab_upload, tab_camera, tab_demo = st.tabs([tr("scalp.input.tab_upload"), tr("scalp.input.tab_camera"),
                                                tr("scalp.input.tab_demo")])
    with tab_upload:
        # no type filter: a wrong file (a PDF) must reach the loader and get translated advice,
        # not Streamlit's untranslated extension error
        upload = st.file_uploader(tr("scalp.input.upload"), key="scalp_upload", help=tr("scalp.input.upload_help"))
    with tab_camera:
        shot = st.camera_input(tr("scalp.input.camera"), key="scalp_camera")
    with tab_demo:
        st.caption(tr("scalp.input.demo_help"))
        if st.button(tr("scalp.input.demo"), key="scalp_demo_button"):
            S["scalp_demo"] = ("synthetic-scalp.jpg", _demo_photo())
        if list_samples("scalp"):  # real photos a presenter placed in the samples folder (scalp/*)
            sample_picker("scalp", "scalp_sample")
            if S.get("scalp_sample_button") and S.get("scalp_sample"):  # loaded just now
                S["scalp_demo"] = S["scalp_sample"]
    with st.expander(tr("scalp.input.tips_title")):
        st.markdown(tr("scalp.input.tips"))
    if upload is not None:
        return upload.name, upload.getvalue()
    if shot is not None:
        return "camera.jpg", shot.getvalue()
    return S.get("scalp_demo")


def questionnaire() -> Questionnaire | None:
    """The form; returns validated answers on submit (None otherwise or when invalid)."""
    with st.form(key="scalp_form"):
        st.subheader(tr("scalp.q.title"))
        st.caption(tr("scalp.q.help"))
        values: dict[str, Any] = {}
        names = list(SINGLE)
        # rows of two questions: on a phone the columns stack row by row, so the reading order stays
        # the form's order (two whole columns would stack as one column after the other)
        for start in range(0, len(names), 2):
            for col, name in zip(st.columns(2), names[start:start + 2], strict=False):
                values[name] = col.selectbox(
                    tr(f"scalp.q.{name}"), options=list(SINGLE[name]), index=default_index(name),
                    format_func=option_labels(f"scalp.q.{name}."), placeholder=tr("scalp.q.choose"),
                    key=f"scalp_q_{name}",
                )
        for name, options in MULTI.items():
            values[name] = st.multiselect(tr(f"scalp.q.{name}"), options=list(options),
                                          format_func=option_labels(f"scalp.q.{name}."), key=f"scalp_q_{name}",
                                          placeholder=tr("scalp.q.choose_many"))
        values["field_of_view_mm"] = st.number_input(
            tr("scalp.q.field_of_view_mm"), min_value=0.0, max_value=100.0, value=0.0, step=0.5,
            help=tr("scalp.q.field_of_view_help"), key="scalp_q_fov",
        )
        submitted = st.form_submit_button(tr("scalp.q.submit"), type="primary")
    if not submitted:
        return None
    try:
        return Questionnaire.from_form(values)
    except UserError as err:
        show_user_error(err)
        return None
