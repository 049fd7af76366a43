"""Shoulder bone health: deltoid tuberosity index and combined cortical thickness measured on an AP
shoulder radiograph, with the edges found automatically and adjustable, and the learned model's
install status. Thin page: widgets -> core.shoulder.workflow -> display (sections in ui/shoulder_*)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.errors import UserError
from core.samples import list_samples
from core.shoulder import LevelMeasurement, Line, MeasurementError
from core.shoulder.display import apply_window
from core.shoulder.workflow import (
    LEVELS,
    LINES,
    MeasureOptions,
    ShoulderImage,
    level2_line,
    measure_lines,
    summarise,
)
from ui.common import show_user_error, tr
from ui.demo import sample_picker
from ui.options import option_labels
from ui.shoulder_canvas import drawing, numbers
from ui.shoulder_panels import calibration, export, gate_passes, level_details, model_section, results, share
from ui.shoulder_state import (
    S,
    apply_manual,
    demo,
    get_line,
    load,
    placed_lines,
    pull_widgets,
    reset_for,
    set_line,
)


def _input() -> ShoulderImage | None:
    source = st.radio(tr("shoulder.input.source"), ["upload", "demo"], horizontal=True, key="sh_source",
                      format_func=option_labels("shoulder.input.source_"))
    if source == "demo":
        image, presets = demo()
        truth = image.truth or (0.0, 0.0)
        st.caption(tr("shoulder.input.demo_note", dti=f"{truth[0]:.3f}", cct=f"{truth[1]:.1f}"))
        reset_for(image.id, {k: Line(*v) for k, v in presets.items()})
        return image
    # no type filter: extension-less DICOM (PACS/CD exports such as IM000001) and .jfif must reach the loader,
    # which detects the type from the bytes, and a wrong file must get its translated advice, not Streamlit's
    upload = st.file_uploader(tr("shoulder.input.upload"), key="sh_upload", help=tr("shoulder.input.upload_help"))
    # radiographs a presenter placed in the samples folder (shoulder/*), loaded like an upload
    sample = sample_picker("shoulder", "sh_sample") if list_samples("shoulder") else None
    name, content = (upload.name, upload.getvalue()) if upload is not None else (sample or (None, None))
    if content is None:
        st.info(tr("shoulder.input.none"))
        return None
    try:
        image = load(content, str(name))
    except UserError as err:
        show_user_error(err)
        return None
    if not gate_passes(image):
        return None
    reset_for(image.id, {})
    return image


def _options() -> tuple[float, float]:
    """The sidebar: window level and width, and the advanced measuring settings."""
    with st.sidebar:
        st.subheader(tr("shoulder.wl.title"))
        centre = st.slider(tr("shoulder.wl.level"), 0.0, 1.0, 0.5, 0.01, key="sh_wl_level")
        width = st.slider(tr("shoulder.wl.width"), 0.02, 1.0, 1.0, 0.01, key="sh_wl_width")
        with st.expander(tr("shoulder.advanced")):
            st.slider(tr("shoulder.band"), 1.0, 15.0, 5.0, 1.0, key="sh_band", help=tr("shoulder.band_help"))
            st.selectbox(tr("shoulder.method"), ["model", "gradient"], key="sh_method",
                         format_func=option_labels("shoulder.method."))
            st.checkbox(tr("shoulder.tilt"), value=True, key="sh_tilt", help=tr("shoulder.tilt_help"))
    return centre, width


def _measure(image: ShoulderImage, spacing: tuple[float, float] | None) -> tuple[dict[str, LevelMeasurement], dict[str, UserError]]:
    """Every placed level, with the hand-moved edges where switched on; and the errors."""
    options = MeasureOptions(band_px=float(S.get("sh_band", 5.0)), method=S.get("sh_method", "model"),
                             correct_tilt=bool(S.get("sh_tilt", True)))
    levels, errors = measure_lines(image.gray, placed_lines(), spacing, options, S.setdefault("sh_memo", {}),
                                   str(S.get("sh_image_id")))
    return {n: apply_manual(n, lvl) for n, lvl in levels.items()}, errors


def _place_level2(gray: np.ndarray, spacing: tuple[float, float] | None) -> None:
    try:
        set_line("cct2", level2_line(gray, get_line("cct1"), spacing, float(S.get("sh_band", 5.0))))
        S.pop("sh_level2_msg", None)
    except MeasurementError as err:
        S["sh_level2_msg"] = err.key


# --- page ----------------------------------------------------------------------------------------
st.title(tr("app.page.shoulder"))
st.caption(tr("shoulder.intro"))
pull_widgets()

image = _input()
if image is not None:
    gray = image.gray
    if image.odd_view:
        st.warning(tr("shoulder.input.view_warning", view=str(image.view)))
    if image.burned_in:
        st.warning(tr("shoulder.burned_in.warning"), icon=":material/badge:")
    display = apply_window(gray, *_options())

    st.subheader(tr("shoulder.cal.title"))
    spacing, spacing_source = calibration(image)

    st.subheader(tr("shoulder.draw.title"))
    st.caption(tr("shoulder.draw.help"))
    target = st.radio(tr("shoulder.draw.target"), list(LINES), horizontal=True, key="sh_target",
                      format_func=option_labels("shoulder.line."))
    levels, errors = _measure(image, spacing)
    drawing(image.id, display, target, levels)
    with st.expander(tr("shoulder.draw.numbers_title"), expanded=True):
        numbers(target, gray.shape[:2])
        if target == "cct2":
            st.button(tr("shoulder.draw.place_level2"), key="sh_level2_btn",
                      on_click=_place_level2, args=(gray, spacing))
            if S.get("sh_level2_msg"):
                st.warning(tr(S["sh_level2_msg"]))
    # measure again: the numbers may have just changed
    levels, errors = _measure(image, spacing)

    for name in LEVELS:
        if name in errors:
            show_user_error(errors[name])
        elif name in levels:
            with st.expander(tr(f"shoulder.line.{name}"), expanded=(name == target)):
                level_details(name, levels[name], display)
        else:
            st.caption(tr("shoulder.line.not_set", line=tr(f"shoulder.line.{name}")))

    summary = summarise(levels)
    results(summary)
    export(image, levels, spacing, spacing_source, display)
    share(image, summary, spacing_source)
    model_section(gray)
else:
    model_section(None)
