"""Scalp self-check: photo (upload or camera) -> quality gate -> questionnaire -> six severities with
the pixels behind each measurement -> care plan -> optional local history and sharing.
Thin page: widgets -> core.scalp.pipeline -> display (sections in ui/scalp_*).
The photo stays in this session's memory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import UserError
from core.imaging.compact import CompactImage, load_compact
from core.models.registry import installed_path
from core.scalp import MODEL_CARD, PhotoQualityError, ScalpResult
from core.scalp.measure import ANALYSIS_LONG_SIDE
from core.scalp.pipeline import PhotoCheck, check_photo, record_audit, run
from ui.common import show_user_error, tr
from ui.scalp_form import photo_input, questionnaire
from ui.scalp_history import history, share
from ui.scalp_results import measurements, personal_plan, plan, severities

S = st.session_state


@st.cache_resource(show_spinner=False)
def _cached_model(path: str, stamp: float) -> Any:
    """Load once per file version (``stamp`` = its mtime, part of the cache key)."""
    from core.scalp.model import load_checkpoint  # imports torch: only when a model is installed

    return load_checkpoint(Path(path))


def get_model() -> Any:
    """The installed trained model, or None (the usual case: it is not shipped)."""
    path = installed_path(MODEL_CARD)
    if path is None:
        return None
    try:
        return _cached_model(str(path), path.stat().st_mtime)
    except (OSError, ValueError, RuntimeError):
        st.warning(tr("scalp.model.unreadable"), icon=":material/warning:")
        return None


def _load(name: str, data: bytes) -> CompactImage | None:
    """Decode once per photo (a 12-MP JPEG takes ~0.2 s); the session keeps only the analysis-size
    copy (long side 1024 px, float16), not the full-resolution float32 pixels."""
    digest = hashlib.sha256(data).hexdigest()
    cached = S.get("scalp_image")
    if cached is not None and cached[0] == digest:
        return cached[1]
    try:
        image = load_compact(data, name, max_side=ANALYSIS_LONG_SIDE, precise=True)
    except UserError as err:
        show_user_error(err)
        return None
    S["scalp_image"] = (digest, image)
    return image


def _audit(result: ScalpResult | None, sha: str, issues: list[str]) -> None:
    record_audit(result, sha, issues, S.setdefault("scalp_audited", set()))


def _photo_check(image: CompactImage) -> PhotoCheck:
    """The preview and the quality gate's advice (a blocked photo is audited as such)."""
    if S.get("scalp_sha") != image.sha256:
        S["scalp_sha"] = image.sha256
        S.pop("scalp_result", None)
    photo = check_photo(image)
    height, width = photo.original_size
    st.image(photo.preview(), caption=tr("scalp.input.preview", w=width, h=height), width=360)
    if not photo.report.ok:
        show_user_error(PhotoQualityError(photo.report))
        _audit(None, photo.sha256, [i.code for i in photo.report.issues])
    for issue in photo.report.warnings:
        st.warning(tr(issue.key), icon=":material/photo_camera:")
    return photo


# --- page ------------------------------------------------------------------------------------------
st.title(tr("app.page.scalp"))
st.caption(tr("scalp.intro"))
model = get_model()
if model is None:
    st.info(tr("scalp.model.not_installed"), icon=":material/straighten:")
    with st.expander(tr("scalp.model.how_title")):
        st.markdown(tr("scalp.model.how"))
        st.code("python -m core.scalp.train fit --data /path/to/aihub-scalp --install", language="bash")

st.subheader(tr("scalp.input.title"))
upload = photo_input()
image = _load(*upload) if upload is not None else None
photo = _photo_check(image) if image is not None else None
if photo is None:
    st.caption(tr("scalp.input.none"))

answers = questionnaire()
if answers is not None:
    if photo is None:
        st.error(tr("scalp.error.no_photo"), icon=":material/warning:")
    else:
        try:
            with st.spinner(tr("scalp.result.running")):
                result = run(photo, answers, model)
        except PhotoQualityError as err:
            show_user_error(err)
        else:
            S["scalp_result"] = result
            S["scalp_answers"] = answers
            _audit(result, photo.sha256, [i.code for i in result.quality.issues])

result = S.get("scalp_result")
if isinstance(result, ScalpResult) and photo is not None and result.input_sha256 == photo.sha256:
    severities(result)
    measurements(result)
    plan(result)
    personal_plan(result)
    history(result)
    share(result)
    st.caption(tr("scalp.result.footer"))
