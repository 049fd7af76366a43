"""Sections of the shoulder page: the input gate, calibration, each level's details and edge
editor, the result, the PDF, sharing and the learned model. Decisions come from
:mod:`core.shoulder.workflow`; these functions draw them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core.export.shoulder import build_pdf, share_summary
from core.shoulder import CCT_HIGH_MM, CCT_LOW_MM, DTI_CXR_CUTOFF, DTI_THRESHOLD, REFERENCES, LevelMeasurement
from core.shoulder.display import profile_png, zoom_view
from core.shoulder.gate import check_input
from core.shoulder.model import cam_picture, load, model_info, predict
from core.shoulder.profile import MeasurementError
from core.shoulder.workflow import (
    ShoulderImage,
    ShoulderSummary,
    level_caption,
    poor_fit,
    resolve_spacing,
    spacing_modes,
)
from ui.common import lang, show_user_error, tr
from ui.options import option_labels
from ui.share import share_to_board
from ui.shoulder_state import S, bound_number, get_line, placed_lines, value

Spacing = tuple[float, float]


def gate_passes(image: ShoulderImage) -> bool:
    """The input gate (:mod:`core.shoulder.gate`) on the decoded upload and its facts (no second
    decode of the raw bytes): refusals as errors, with "this is a radiograph" to go on where every
    refusal allows it; warnings as warnings. True when measuring may go on."""
    result = check_input(image.gray, image.facts)
    override_key = f"sh_gate_override_{str(image.id)[:12]}"
    decision = result.decision(overridden=bool(S.get(override_key)))
    for issue in result.refusals:
        box = st.error if decision == "refuse" else st.warning
        box(issue.message(lang()), icon=":material/block:" if decision == "refuse" else ":material/warning:")
    for issue in result.warnings:
        st.warning(issue.message(lang()), icon=":material/warning:")
    if result.can_override:
        st.checkbox(tr("shoulder.gate.override"), key=override_key)
    if decision == "refuse":
        st.info(tr("shoulder.gate.needs_radiograph"))
        return False
    return True


def calibration(image: ShoulderImage) -> tuple[Spacing | None, str]:
    """Where the millimetres come from; returns (spacing, its source)."""
    options = spacing_modes(image)
    if S.get("sh_cal_mode") in ("dicom", "phantom") and S["sh_cal_mode"] not in options:
        S["sh_cal_mode"] = options[0]  # switched between the phantom and a file: keep "spacing from the image"
    mode = st.radio(tr("shoulder.cal.mode"), options, horizontal=True, key="sh_cal_mode",
                    format_func=option_labels("shoulder.cal.mode_"))
    if mode == "object":
        bound_number(st, tr("shoulder.cal.known_mm"), "cal_mm", 0.0, 1000.0, step=1.0,
                     help=tr("shoulder.cal.known_help"))
    line, known = get_line("calib"), value("cal_mm")
    try:
        spacing, source = resolve_spacing(mode, image, line, known)
    except MeasurementError as err:
        show_user_error(err)
        return None, "none"
    if spacing is None:
        st.warning(tr("shoulder.cal.needs_line" if mode == "object" else "shoulder.cal.none"))
    elif mode == "object" and line is not None:
        st.caption(tr("shoulder.cal.object", mm=f"{spacing[0]:.4f}", px=f"{line.length:.1f}", known=f"{known:g}"))
    else:
        st.caption(tr(f"shoulder.cal.{mode}", row=f"{spacing[0]:.4f}", col=f"{spacing[1]:.4f}"))
        if mode == "dicom" and image.magnification:
            st.caption(tr("shoulder.cal.magnified", factor=f"{float(image.magnification):.3f}"))
        elif mode == "dicom" and image.spacing_plane == "detector":
            st.warning(tr("shoulder.cal.detector"), icon=":material/straighten:")
    return spacing, source


def _edge_editor(name: str, lvl: LevelMeasurement) -> None:
    st.toggle(tr("shoulder.edges.manual"), key=f"sh_{name}_manual")
    if S.get(f"sh_{name}_manual"):
        length = lvl.edges.line.length
        for i, col in enumerate(st.columns(4)):
            bound_number(col, tr(f"shoulder.edges.e{i}"), f"{name}_e{i}", 0.0, float(length), step=0.25,
                         format="%.2f")
        if not (lvl.edges.method == "manual"):
            st.warning(tr("shoulder.error.edges_order"))


def level_details(name: str, lvl: LevelMeasurement, display: np.ndarray) -> None:
    """Zoomed view, intensity profile with the four edges, fit and tilt, and the edge editor."""
    c1, c2 = st.columns([1, 1.4])
    c1.image(zoom_view(display, name, lvl), caption=tr("shoulder.edges.zoom"))
    unit = tr("shoulder.unit.mm") if lvl.mm_per_px else tr("shoulder.unit.px")
    c2.image(profile_png(lvl, tr(f"shoulder.line.{name}"), tr("shoulder.edges.profile_x", unit=unit),
                         tr("shoulder.edges.profile_y")))
    if poor_fit(lvl):
        st.warning(tr("shoulder.edges.poor_fit"))
    st.caption(level_caption(lvl, lang()))
    _edge_editor(name, lvl)


CATEGORY_BOX = {"low": st.error, "borderline": st.warning, "not_low": st.success, "unavailable": st.info}


def results(summary: ShoulderSummary) -> None:
    """The indices and the screening result."""
    st.subheader(tr("shoulder.result.title"))
    result = summary.screening
    c1, c2 = st.columns(2)
    with c1:
        st.metric(tr("shoulder.result.dti"), "—" if summary.dti is None else f"{summary.dti:.2f}")
        st.caption(tr("shoulder.result.dti_rule", thr=f"{DTI_THRESHOLD:.2f}", cxr=f"{DTI_CXR_CUTOFF:.3f}"))
        st.caption(tr(f"shoulder.category.{result.findings[0].category}"))
    with c2:
        if summary.cct is None:
            st.metric(tr("shoulder.result.cct"), "—")
            if summary.cct_needs_spacing:
                st.caption(tr("shoulder.result.cct_needs_spacing"))
        else:
            st.metric(tr("shoulder.result.cct"), f"{summary.cct:.1f} {tr('shoulder.unit.mm')}")
            st.caption(tr("shoulder.result.cct_levels", n=summary.cct_levels))
            if summary.provisional:
                st.warning(tr("shoulder.result.cct_provisional"))
        st.caption(tr("shoulder.result.cct_rule", low=f"{CCT_LOW_MM:g}", high=f"{CCT_HIGH_MM:g}"))
        st.caption(tr(f"shoulder.category.{result.findings[1].category}"))
    CATEGORY_BOX[result.category](tr(f"shoulder.overall.{result.category}"))
    if result.advise_dxa:
        st.warning(tr("shoulder.advice.dxa"))
    st.caption(tr("shoulder.advice.not_diagnosis"))
    with st.expander(tr("shoulder.references")):
        for text in REFERENCES.values():
            st.markdown(f"- {text}")


def share(image: ShoulderImage, summary: ShoulderSummary, spacing_source: str) -> None:
    """Opt-in sharing of the measurements and the screening result to the community board."""
    if summary.screening.category == "unavailable":
        return  # nothing measured yet: nothing to share
    st.subheader(tr("shoulder.share.title"))
    text = share_summary(summary.dti, summary.cct, summary.screening, spacing_source, lang(), demo=image.is_demo)
    share_to_board("bone", text, key=f"sh_share_{str(image.id)[:12]}")


def export(image: ShoulderImage, levels: dict[str, LevelMeasurement], spacing: Spacing | None,
           spacing_source: str, display: np.ndarray) -> None:
    """The PDF report download (the image only with consent when patient details are burned in)."""
    if not levels:
        return
    include = True
    if image.burned_in:  # pixels with patient details go into the PDF only when confirmed
        include = st.checkbox(tr("shoulder.burned_in.include"), value=False, key="sh_burned_in_ok")
    try:
        pdf = build_pdf(levels, placed_lines(), display, lang(), input_sha256=str(image.id),
                        source_format=str(image.format or ""), spacing=spacing,
                        spacing_source=spacing_source, model_state=model_info().state, include_images=include)
    except Exception as exc:  # the export must never break the page
        st.caption(tr("shoulder.export.failed", detail=type(exc).__name__))
        return
    st.download_button(tr("shoulder.export.pdf"), data=pdf, file_name="shoulder-bone-health.pdf",
                       mime="application/pdf", key="sh_pdf")


@st.cache_resource(show_spinner=False)
def _cached_model(path: str) -> tuple[Any, dict[str, float]]:
    return load(Path(path))


def model_section(gray: np.ndarray | None) -> None:
    """Install state of the learned model, and its probabilities and Grad-CAM once installed."""
    st.subheader(tr("shoulder.model.title"))
    info = model_info()
    if info.state != "installed":
        st.info(tr("shoulder.model.not_installed", state=tr(f"shoulder.model.state_{info.state}")))
        if info.command:
            st.code(info.command, language="bash")
        return
    st.success(tr("shoulder.model.installed"))
    st.caption(tr("shoulder.model.research"))
    if gray is None:
        return
    try:
        pred = predict(_cached_model(str(info.path))[0], gray)
    except (ValueError, RuntimeError, OSError) as exc:
        st.warning(tr("shoulder.model.failed", detail=type(exc).__name__))
        return
    for col, (label, p) in zip(st.columns(3), pred["probs"].items(), strict=True):
        col.metric(tr(f"shoulder.model.label_{label}"), f"{100 * p:.0f}%")
    st.image(cam_picture(gray, pred["cam"]), caption=tr("shoulder.model.gradcam"), width=320)
