"""The scalp page's sequence without Streamlit: photo check, one run, and the audit record of
each check written once."""

from __future__ import annotations

import numpy as np
import pytest

from core import audit
from core.imaging import load_image
from core.imaging.compact import CompactImage
from core.scalp import CONDITIONS, PhotoQualityError, Questionnaire
from core.scalp.measure import ANALYSIS_LONG_SIDE
from core.scalp.pipeline import audit_fields, check_photo, record_audit, run
from core.scalp.synthetic import encode_jpeg, make_phantom

ANSWERS = {"age_group": "40s", "gender": "female", "shampoo_frequency": "every_3plus_days",
           "perm_cycle": "never", "dye_cycle": "under_3_months", "hair_state": ["oily"]}


def _compact(data: bytes, name: str = "scalp.jpg") -> CompactImage:
    return CompactImage.of(load_image(data, name), max_side=ANALYSIS_LONG_SIDE, precise=True)


@pytest.fixture(scope="module")
def photo() -> CompactImage:
    return _compact(encode_jpeg(make_phantom(seed=3, hairs=20, pustules=1).rgb))


def test_a_good_photo_passes_the_gate_and_gives_six_grades(photo: CompactImage) -> None:
    check = check_photo(photo)
    assert check.report.ok and check.sha256 == photo.sha256 and check.is_color
    assert check.original_size == photo.original_size and check.rgb.dtype == np.float32
    preview = check.preview()
    assert preview.dtype == np.uint8 and preview.shape == check.rgb.shape
    assert abs(float(preview.mean()) - float(check.rgb.mean()) * 255) < 1.0
    result = run(check, Questionnaire.from_form(ANSWERS))
    assert result.source == "heuristic" and result.input_sha256 == photo.sha256
    assert [g.condition for g in result.grades] == list(CONDITIONS) and result.cams is None


def test_a_dark_photo_is_reported_and_refused(photo: CompactImage) -> None:
    dark = (make_phantom(seed=3, hairs=20).rgb * 0.02).astype(np.float32)
    check = check_photo(_compact(encode_jpeg(dark)))
    assert not check.report.ok and check.report.issues
    with pytest.raises(PhotoQualityError):
        run(check, Questionnaire.from_form(ANSWERS))


def test_the_audit_fields_name_the_decision_and_never_the_answers(photo: CompactImage) -> None:
    result = run(check_photo(photo), Questionnaire.from_form(ANSWERS))
    fields = audit_fields(result, photo.sha256, ["blur"])
    assert set(fields) <= set(audit.FIELDS)
    assert fields["gate_decision"] == "ok" and fields["gate_issues"] == ["blur"]
    assert fields["model_name"] == fields["model_version"] == result.thresholds_version
    assert fields["n_positive"] == sum(1 for g in result.grades if (g.final_grade or 0) >= 2)
    blocked = audit_fields(None, photo.sha256, ["too_dark"])
    assert blocked == {"feature": "scalp", "input_sha256": photo.sha256, "gate_decision": "blocked",
                       "gate_issues": ["too_dark"]}


def test_each_check_is_recorded_once_and_a_broken_trail_is_no_failure(photo: CompactImage,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(check_photo(photo), Questionnaire.from_form(ANSWERS))
    seen: set = set()
    assert record_audit(result, photo.sha256, [], seen)
    assert not record_audit(result, photo.sha256, [], seen)  # the same check on a rerun
    assert record_audit(None, photo.sha256, ["too_dark"], seen)
    rows = [r for r in audit.read() if r.get("feature") == "scalp"]
    assert [r["gate_decision"] for r in rows] == ["ok", "blocked"]

    def fail(fields: dict, settings: object = None) -> dict:
        raise OSError("read-only")

    monkeypatch.setattr(audit, "record", fail)
    other: set = set()
    assert not record_audit(result, photo.sha256, [], other) and not other  # tried again next run
