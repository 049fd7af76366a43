"""Shoulder bone health: deltoid tuberosity index and combined cortical thickness measured on an AP
shoulder radiograph, with the edges found automatically and adjustable, and the learned model's
install status. Thin page: widgets -> core.shoulder -> display."""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from core.errors import UserError
from core.export.shoulder import share_summary
from core.i18n import t
from core.samples import list_samples
from core.session_memory import UploadStore
from core.shoulder import (
    CCT_HIGH_MM,
    CCT_LOW_MM,
    DTI_CXR_CUTOFF,
    DTI_THRESHOLD,
    REFERENCES,
    LevelMeasurement,
    Line,
    MeasurementError,
    Screening,
    distal_line,
    mean_cct,
    measure_level,
    remeasure_with_edges,
    screen,
    spacing_from_calibration,
)
from core.shoulder.display import (
    LINE_COLOURS,
    apply_window,
    draw_overlay,
    fabric_line_endpoints,
    profile_png,
    zoom_view,
)
from core.shoulder.gate import FileFacts, check_input, inspect_file
from core.shoulder.model import model_info
from core.shoulder.screening import TINGART_LEVEL2_MM
from ui.common import lang, show_user_error, tr
from ui.demo import sample_picker

LINES = ("dti", "cct1", "cct2", "calib")
COORDS = ("x1", "y1", "x2", "y2")
CANVAS_WIDTH = 640
SHOULDER_MAX_SIDE = 4096  # cortical thickness needs the detail: only larger films are reduced
S = st.session_state


# --- state helpers -------------------------------------------------------------------------------
def _fmt(prefix: str) -> Callable[[str], str]:
    """Option labels in the language of this run (bound now, so AppTest formats them the same)."""
    code = lang()
    return lambda value: t(prefix + str(value), code)


# Values that must outlive their widgets (Streamlit drops a widget's state in runs where it is not
# drawn, e.g. the end points of the line not being placed) live in a plain dict; widgets are bound
# to it: their state is pulled in at the start of a run and pushed out just before they are drawn.
STORE = "sh_store"
WIDGET_PREFIX = "sh_in_"


def _store() -> dict[str, float]:
    return S.setdefault(STORE, {})


def _val(name: str, default: float = 0.0) -> float:
    return float(_store().get(name, default))


def _pull_widgets() -> None:
    """Copy the values of the bound widgets drawn in the previous run into the store."""
    drawn = S.get("sh_drawn", [])
    for name in drawn:
        value = S.get(WIDGET_PREFIX + name)
        if value is not None:
            _store()[name] = float(value)
    S["sh_drawn"] = []


def _bound_number(col: Any, label: str, name: str, lo: float, hi: float, **kw: Any) -> None:
    S[WIDGET_PREFIX + name] = min(max(_val(name), lo), hi)
    col.number_input(label, min_value=lo, max_value=hi, key=WIDGET_PREFIX + name, **kw)
    S["sh_drawn"].append(name)


def _put(name: str, value: float) -> None:
    """Store a value and its widget's state (call only before that widget is drawn in this run)."""
    _store()[name] = float(value)
    S[WIDGET_PREFIX + name] = float(value)


def _set_line(name: str, line: Line | None) -> None:
    values = line.as_tuple() if line is not None else (0.0, 0.0, 0.0, 0.0)
    for coord, v in zip(COORDS, values, strict=True):
        _put(f"{name}_{coord}", round(v, 1))


def _get_line(name: str) -> Line | None:
    line = Line(*(_val(f"{name}_{c}") for c in COORDS))
    return line if line.length >= 1.0 else None


def _reset_for(image_id: str, presets: dict[str, Line]) -> None:
    if S.get("sh_image_id") == image_id:
        return
    S["sh_image_id"] = image_id
    for name in LINES:
        _set_line(name, presets.get(name))
        S.pop(f"sh_{name}_manual", None)
        S.pop(f"sh_{name}_edges_for", None)
    S.pop("sh_canvas_seen", None)


# --- input ---------------------------------------------------------------------------------------
def _decode(data: bytes, filename: str) -> Any:
    from core.imaging.compact import load_compact

    try:
        return load_compact(data, filename, max_side=SHOULDER_MAX_SIDE)
    except UserError as err:
        return err


def _load(data: bytes, filename: str) -> dict[str, Any]:
    """The upload as the page uses it; the session keeps one float16 copy (long side at most
    4096 px, spacing scaled to match) under its memory budget, or the error."""
    store = S.setdefault("sh_uploads", UploadStore())
    digest = hashlib.sha256(data).hexdigest()
    store.forget_except({digest})  # one image at a time on this page
    value = store.image(digest, lambda: _decode(data, filename), revive=True)
    if isinstance(value, UserError):
        raise value
    img = value.to_input()
    return {"gray": img.gray(), "spacing": img.spacing_mm, "id": img.sha256, "format": img.source_format,
            "view": img.view_position, "body_part": img.body_part,
            "spacing_plane": img.meta.get("spacing_plane"), "magnification": img.meta.get("magnification_factor"),
            "burned_in": img.meta.get("burned_in_annotation") is True}


@st.cache_data(show_spinner=False)
def _demo() -> tuple[dict[str, Any], dict[str, tuple[float, float, float, float]]]:
    from core.shoulder.phantom import DEMO_SPEC, demo_case

    ph, lines = demo_case()
    sp = DEMO_SPEC.spacing_mm
    data = {"gray": ph.image, "spacing": (sp, sp), "id": "demo-phantom", "format": "PHANTOM", "view": None,
            "body_part": None, "truth": (DEMO_SPEC.true_dti, DEMO_SPEC.true_cct_mm)}
    return data, {k: v.as_tuple() for k, v in lines.items()}


def _input() -> dict[str, Any] | None:
    source = st.radio(tr("shoulder.input.source"), ["upload", "demo"], horizontal=True, key="sh_source",
                      format_func=_fmt("shoulder.input.source_"))
    if source == "demo":
        data, presets = _demo()
        st.caption(tr("shoulder.input.demo_note", dti=f"{data['truth'][0]:.3f}", cct=f"{data['truth'][1]:.1f}"))
        _reset_for(data["id"], {k: Line(*v) for k, v in presets.items()})
        return data
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
        data = _load(content, str(name))
    except UserError as err:
        show_user_error(err)
        return None
    if not _gate_passes(data, content):
        return None
    _reset_for(data["id"], {})
    return data


@st.cache_data(show_spinner=False, max_entries=8)
def _file_facts(content: bytes) -> FileFacts:
    return inspect_file(content)


def _gate_passes(data: dict[str, Any], content: bytes) -> bool:
    """The input gate (:mod:`core.shoulder.gate`): refusals as errors, with "this is a radiograph"
    to go on where every refusal allows it; warnings as warnings. True when measuring may go on."""
    result = check_input(np.asarray(data["gray"], dtype=np.float32), _file_facts(content))
    override_key = f"sh_gate_override_{str(data['id'])[:12]}"
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


# --- drawing -------------------------------------------------------------------------------------
def _drawing(data: dict[str, Any], display: np.ndarray, target: str, levels: dict[str, LevelMeasurement]) -> None:
    """The drawing component for ``target``; a new line drawn there replaces that line's numbers."""
    tool = st.radio(tr("shoulder.draw.tool"), ["canvas", "clicks", "numbers"], horizontal=True, key="sh_tool",
                    format_func=_fmt("shoulder.draw.tool_"))
    h, w = display.shape[:2]
    scale = min(1.0, CANVAS_WIDTH / w)
    lines = {n: ln for n in LINES if (ln := _get_line(n)) is not None}
    picture = draw_overlay(display, lines, levels, scale=scale)
    new: tuple[float, float, float, float] | None = None
    try:
        if tool == "canvas":
            from streamlit_drawable_canvas import st_canvas

            st.caption(tr("shoulder.draw.canvas_help"))
            st.space("small")  # the canvas toolbar floats above the canvas: keep it off the help line
            result = st_canvas(background_image=picture, drawing_mode="line", stroke_width=2,
                               stroke_color="#{:02x}{:02x}{:02x}".format(*LINE_COLOURS[target]), width=picture.width,
                               height=picture.height, update_streamlit=True,
                               initial_drawing={"objects": [], "drdc_picture": _picture_tag(picture)},
                               key=f"sh_canvas_{data['id'][:12]}_{target}")
            objs = [o for o in ((result.json_data or {}).get("objects") or []) if str(o.get("type", "")).lower() == "line"]
            if objs:
                new = fabric_line_endpoints(objs[-1])
        elif tool == "clicks":
            from streamlit_image_coordinates import streamlit_image_coordinates

            st.caption(tr("shoulder.draw.clicks_help"))
            value = streamlit_image_coordinates(picture, key=f"sh_clicks_{data['id'][:12]}_{target}",
                                                click_and_drag=True, cursor="crosshair")
            if value and value.get("x2") is not None:
                k = picture.width / float(value.get("width") or picture.width)  # displayed size may differ
                new = (value["x1"] * k, value["y1"] * k, value["x2"] * k, value["y2"] * k)
        else:
            st.image(picture, caption=tr("shoulder.draw.numbers_help"))
    except Exception as exc:  # a component that fails to load must not break the page
        st.warning(tr("shoulder.draw.component_failed", detail=type(exc).__name__))
        st.image(picture)
    if new is not None:
        # a component keeps returning its last line: apply it once, so later number edits stick
        seen = S.setdefault("sh_canvas_seen", {})
        marker = (tool, tuple(round(float(v), 1) for v in new))
        if seen.get(target) != marker and math.hypot(new[2] - new[0], new[3] - new[1]) > 3:
            seen[target] = marker
            _set_line(target, Line(*(float(v) / scale for v in new)).clipped_to((h, w)))
            # the drawing surface still shows the old line and the strokes drawn so far: draw it again
            # with only the current lines (a new picture empties the canvas, see _picture_tag)
            st.rerun()


def _picture_tag(picture: Any) -> str:
    """A short digest of the canvas background. It goes into the canvas's initial drawing, so a
    new picture (a line placed or moved, the window changed) clears the strokes drawn on the old one:
    the canvas then shows the current lines only, never a stroke of a line already replaced."""
    return f"{zlib.crc32(picture.tobytes()):08x}"


def _numbers(target: str, shape: tuple[int, int]) -> None:
    h, w = shape
    cols = st.columns(4)
    for col, coord in zip(cols, COORDS, strict=True):
        limit = float(w - 1 if coord.startswith("x") else h - 1)
        _bound_number(col, tr(f"shoulder.draw.{coord}"), f"{target}_{coord}", 0.0, limit, step=1.0, format="%.1f")


# --- measurement ---------------------------------------------------------------------------------
def _spacing(data: dict[str, Any]) -> tuple[tuple[float, float] | None, str]:
    known = "phantom" if data.get("format") == "PHANTOM" else "dicom"  # where a known spacing comes from
    options = ([known] if data.get("spacing") else []) + ["none", "object"]
    if S.get("sh_cal_mode") in ("dicom", "phantom") and S["sh_cal_mode"] not in options:
        S["sh_cal_mode"] = options[0]  # switched between the phantom and a file: keep "spacing from the image"
    mode = st.radio(tr("shoulder.cal.mode"), options, horizontal=True, key="sh_cal_mode",
                    format_func=_fmt("shoulder.cal.mode_"))
    if mode == "phantom":
        row, col = data["spacing"]
        st.caption(tr("shoulder.cal.phantom", row=f"{row:.4f}", col=f"{col:.4f}"))
        return tuple(data["spacing"]), "phantom"  # type: ignore[return-value]
    if mode == "dicom":
        row, col = data["spacing"]
        st.caption(tr("shoulder.cal.dicom", row=f"{row:.4f}", col=f"{col:.4f}"))
        if data.get("magnification"):
            st.caption(tr("shoulder.cal.magnified", factor=f"{float(data['magnification']):.3f}"))
        elif data.get("spacing_plane") == "detector":
            st.warning(tr("shoulder.cal.detector"), icon=":material/straighten:")
        return tuple(data["spacing"]), "dicom"  # type: ignore[return-value]
    if mode == "object":
        _bound_number(st, tr("shoulder.cal.known_mm"), "cal_mm", 0.0, 1000.0, step=1.0,
                      help=tr("shoulder.cal.known_help"))
        known = _val("cal_mm")
        line = _get_line("calib")
        if line is None or known <= 0:
            st.warning(tr("shoulder.cal.needs_line"))
            return None, "none"
        try:
            sp = spacing_from_calibration(line, float(known))
        except MeasurementError as err:
            show_user_error(err)
            return None, "none"
        st.caption(tr("shoulder.cal.object", mm=f"{sp[0]:.4f}", px=f"{line.length:.1f}", known=f"{known:g}"))
        return sp, "object"
    st.warning(tr("shoulder.cal.none"))
    return None, "none"


def _measure_all(gray: np.ndarray, spacing: tuple[float, float] | None) -> tuple[dict[str, LevelMeasurement], dict[str, UserError]]:
    band = float(S.get("sh_band", 5.0))
    method = S.get("sh_method", "model")
    correct = bool(S.get("sh_tilt", True))
    levels: dict[str, LevelMeasurement] = {}
    errors: dict[str, UserError] = {}
    for name in ("dti", "cct1", "cct2"):
        line = _get_line(name)
        if line is None:
            continue
        memo_key = (S.get("sh_image_id"), line.as_tuple(), spacing, band, method, correct)
        memo = S.setdefault("sh_memo", {})
        try:
            if memo_key not in memo:
                if len(memo) > 32:
                    memo.clear()
                memo[memo_key] = measure_level(gray, line, spacing, band_px=band, method=method, correct_tilt=correct)
            levels[name] = _apply_manual(name, memo[memo_key])
        except MeasurementError as err:
            errors[name] = err
    return levels, errors


def _apply_manual(name: str, lvl: LevelMeasurement) -> LevelMeasurement:
    stamp = (lvl.edges.line.as_tuple(), lvl.edges.method)
    if S.get(f"sh_{name}_edges_for") != stamp:
        S[f"sh_{name}_edges_for"] = stamp
        for i, v in enumerate(lvl.edges.s):
            _put(f"{name}_e{i}", round(v, 2))
    if not S.get(f"sh_{name}_manual"):
        return lvl
    try:
        return remeasure_with_edges(lvl, [_val(f"{name}_e{i}") for i in range(4)])
    except MeasurementError:
        return lvl


def _edge_editor(name: str, lvl: LevelMeasurement) -> None:
    st.toggle(tr("shoulder.edges.manual"), key=f"sh_{name}_manual")
    if S.get(f"sh_{name}_manual"):
        cols = st.columns(4)
        length = lvl.edges.line.length
        for i, col in enumerate(cols):
            _bound_number(col, tr(f"shoulder.edges.e{i}"), f"{name}_e{i}", 0.0, float(length), step=0.25,
                          format="%.2f")
        if not (lvl.edges.method == "manual"):
            st.warning(tr("shoulder.error.edges_order"))


def _place_level2(gray: np.ndarray, spacing: tuple[float, float] | None) -> None:
    line = _get_line("cct1")
    if line is None or spacing is None:
        S["sh_level2_msg"] = "shoulder.error.needs_spacing"
        return
    try:
        lvl = measure_level(gray, line, spacing, band_px=float(S.get("sh_band", 5.0)))
        _set_line("cct2", distal_line(lvl, TINGART_LEVEL2_MM, spacing).clipped_to(gray.shape[:2]))
        S.pop("sh_level2_msg", None)
    except MeasurementError as err:
        S["sh_level2_msg"] = err.key


def _level_details(name: str, lvl: LevelMeasurement, display: np.ndarray) -> None:
    c1, c2 = st.columns([1, 1.4])
    c1.image(zoom_view(display, name, lvl), caption=tr("shoulder.edges.zoom"))
    unit = tr("shoulder.unit.mm") if lvl.mm_per_px else tr("shoulder.unit.px")
    png = profile_png(lvl, tr(f"shoulder.line.{name}"), tr("shoulder.edges.profile_x", unit=unit),
                      tr("shoulder.edges.profile_y"))
    c2.image(png)
    parts = [tr("shoulder.edges.method", method=tr(f"shoulder.method.{lvl.edges.method}"))]
    if lvl.edges.r2 is not None:
        parts.append(tr("shoulder.edges.fit", r2=f"{lvl.edges.r2:.3f}", sigma=f"{lvl.edges.sigma_px:.2f}"))
    if lvl.tilt is not None:
        key = "shoulder.edges.tilt_corrected" if lvl.corrected else "shoulder.edges.tilt"
        parts.append(tr(key, deg=f"{lvl.tilt.degrees:+.1f}"))
        if not lvl.tilt.reliable:
            parts.append(tr("shoulder.edges.tilt_unreliable"))
    if lvl.edges.r2 is not None and lvl.edges.r2 < 0.9:
        st.warning(tr("shoulder.edges.poor_fit"))
    st.caption(" · ".join(parts))
    _edge_editor(name, lvl)


# --- results -------------------------------------------------------------------------------------
CATEGORY_BOX = {"low": st.error, "borderline": st.warning, "not_low": st.success, "unavailable": st.info}


def _results(levels: dict[str, LevelMeasurement]) -> tuple[float | None, float | None, Screening]:
    """Show the indices and the screening result; return (DTI, mean CCT in mm, the screening)."""
    st.subheader(tr("shoulder.result.title"))
    dti = levels["dti"].dti if "dti" in levels else None
    ccts = [levels[n].cct_mm for n in ("cct1", "cct2") if n in levels]
    cct = mean_cct(ccts)
    result = screen(dti, cct)
    c1, c2 = st.columns(2)
    with c1:
        if dti is None:
            st.metric(tr("shoulder.result.dti"), "—")
        else:
            st.metric(tr("shoulder.result.dti"), f"{dti:.2f}")
        st.caption(tr("shoulder.result.dti_rule", thr=f"{DTI_THRESHOLD:.2f}", cxr=f"{DTI_CXR_CUTOFF:.3f}"))
        st.caption(tr(f"shoulder.category.{result.findings[0].category}"))
    with c2:
        if cct is None:
            st.metric(tr("shoulder.result.cct"), "—")
            if any(n in levels for n in ("cct1", "cct2")):
                st.caption(tr("shoulder.result.cct_needs_spacing"))
        else:
            st.metric(tr("shoulder.result.cct"), f"{cct:.1f} {tr('shoulder.unit.mm')}")
            n_levels = sum(v is not None for v in ccts)
            st.caption(tr("shoulder.result.cct_levels", n=n_levels))
            if n_levels == 1:
                st.warning(tr("shoulder.result.cct_provisional"))
        st.caption(tr("shoulder.result.cct_rule", low=f"{CCT_LOW_MM:g}", high=f"{CCT_HIGH_MM:g}"))
        st.caption(tr(f"shoulder.category.{result.findings[1].category}"))
    box = CATEGORY_BOX[result.category]
    box(tr(f"shoulder.overall.{result.category}"))
    if result.advise_dxa:
        st.warning(tr("shoulder.advice.dxa"))
    st.caption(tr("shoulder.advice.not_diagnosis"))
    with st.expander(tr("shoulder.references")):
        for text in REFERENCES.values():
            st.markdown(f"- {text}")
    return dti, cct, result


def _share(data: dict[str, Any], dti: float | None, cct: float | None, result: Screening, spacing_source: str) -> None:
    """Opt-in sharing of the measurements and the screening result to the community board."""
    if result.category == "unavailable":
        return  # nothing measured yet: nothing to share
    st.subheader(tr("shoulder.share.title"))
    try:
        from ui.share import share_to_board
    except ImportError:  # board not installed in this build
        st.caption(tr("shoulder.share.unavailable"))
        return
    summary = share_summary(dti, cct, result, spacing_source, lang(), demo=data.get("format") == "PHANTOM")
    share_to_board("bone", summary, key=f"sh_share_{str(data['id'])[:12]}")


def _model_section(gray: np.ndarray | None) -> None:
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
        model = _cached_model(str(info.path))
        from core.shoulder.model import predict

        pred = predict(model[0], gray)
    except (ValueError, RuntimeError, OSError) as exc:
        st.warning(tr("shoulder.model.failed", detail=type(exc).__name__))
        return
    cols = st.columns(3)
    for col, (label, p) in zip(cols, pred["probs"].items(), strict=True):
        col.metric(tr(f"shoulder.model.label_{label}"), f"{100 * p:.0f}%")
    from core.shoulder.train import overlay_rgb, resize_square

    size = pred["cam"].shape[0]
    st.image(overlay_rgb(resize_square(gray, size), pred["cam"]), caption=tr("shoulder.model.gradcam"), width=320)


@st.cache_resource(show_spinner=False)
def _cached_model(path: str) -> tuple[Any, dict[str, float]]:
    from pathlib import Path

    from core.shoulder.model import load

    return load(Path(path))


def _export(data: dict[str, Any], levels: dict[str, LevelMeasurement], spacing: tuple[float, float] | None,
            spacing_source: str, display: np.ndarray) -> None:
    if not levels:
        return
    include = True
    if data.get("burned_in"):  # pixels with patient details go into the PDF only when confirmed
        include = st.checkbox(tr("shoulder.burned_in.include"), value=False, key="sh_burned_in_ok")
    try:
        from core.export.shoulder import build_pdf

        lines = {n: ln for n in LINES if (ln := _get_line(n)) is not None}
        pdf = build_pdf(levels, lines, display, lang(), input_sha256=str(data["id"]),
                        source_format=str(data.get("format") or ""), spacing=spacing,
                        spacing_source=spacing_source, model_state=model_info().state, include_images=include)
    except ImportError:
        st.caption(tr("shoulder.export.unavailable"))
        return
    except Exception as exc:  # the export must never break the page
        st.caption(tr("shoulder.export.failed", detail=type(exc).__name__))
        return
    st.download_button(tr("shoulder.export.pdf"), data=pdf, file_name="shoulder-bone-health.pdf",
                       mime="application/pdf", key="sh_pdf")


# --- page ----------------------------------------------------------------------------------------
st.title(tr("app.page.shoulder"))
st.caption(tr("shoulder.intro"))
_pull_widgets()

data = _input()
if data is not None:
    gray = np.asarray(data["gray"], dtype=np.float32)
    if data.get("view") and str(data["view"]).upper() not in ("AP", "PA", ""):
        st.warning(tr("shoulder.input.view_warning", view=str(data["view"])))
    if data.get("burned_in"):
        st.warning(tr("shoulder.burned_in.warning"), icon=":material/badge:")
    with st.sidebar:
        st.subheader(tr("shoulder.wl.title"))
        centre = st.slider(tr("shoulder.wl.level"), 0.0, 1.0, 0.5, 0.01, key="sh_wl_level")
        width = st.slider(tr("shoulder.wl.width"), 0.02, 1.0, 1.0, 0.01, key="sh_wl_width")
        with st.expander(tr("shoulder.advanced")):
            st.slider(tr("shoulder.band"), 1.0, 15.0, 5.0, 1.0, key="sh_band", help=tr("shoulder.band_help"))
            st.selectbox(tr("shoulder.method"), ["model", "gradient"], key="sh_method",
                         format_func=_fmt("shoulder.method."))
            st.checkbox(tr("shoulder.tilt"), value=True, key="sh_tilt", help=tr("shoulder.tilt_help"))
    display = apply_window(gray, centre, width)

    st.subheader(tr("shoulder.cal.title"))
    spacing, spacing_source = _spacing(data)

    st.subheader(tr("shoulder.draw.title"))
    st.caption(tr("shoulder.draw.help"))
    target = st.radio(tr("shoulder.draw.target"), list(LINES), horizontal=True, key="sh_target",
                      format_func=_fmt("shoulder.line."))
    levels, errors = _measure_all(gray, spacing)
    _drawing(data, display, target, levels)
    with st.expander(tr("shoulder.draw.numbers_title"), expanded=True):
        _numbers(target, gray.shape[:2])
        if target == "cct2":
            st.button(tr("shoulder.draw.place_level2"), key="sh_level2_btn",
                      on_click=_place_level2, args=(gray, spacing))
            if S.get("sh_level2_msg"):
                st.warning(tr(S["sh_level2_msg"]))
    # measure again: the numbers may have just changed
    levels, errors = _measure_all(gray, spacing)

    for name in ("dti", "cct1", "cct2"):
        if name in errors:
            show_user_error(errors[name])
        elif name in levels:
            with st.expander(tr(f"shoulder.line.{name}"), expanded=(name == target)):
                _level_details(name, levels[name], display)
        else:
            st.caption(tr("shoulder.line.not_set", line=tr(f"shoulder.line.{name}")))

    dti, cct, screening = _results(levels)
    _export(data, levels, spacing, spacing_source, display)
    _share(data, dti, cct, screening, spacing_source)
    _model_section(gray)
else:
    _model_section(None)
