"""Technical DICOM tag values are kept only as enumerated terms (core.imaging.tags)."""

from __future__ import annotations

import pytest

from core.imaging import load_image, tags
from core.imaging.dicom_meta import DICOM_META_KEYS
from tests.imaging import corpus


@pytest.mark.parametrize(("value", "expected"), [
    ("CHEST", "CHEST"), ("chest", "CHEST"), (" PORTABLE CHEST ", "CHEST"), ("CHEST ABDOMEN", "CHESTABDOMEN"),
    ("SHOULDER", "SHOULDER"), ("THORAX", "THORAX"), ("HONG GILDONG", "OTHER"), ("010-1234-5678", "OTHER"),
    ("x" * 200, "OTHER"), (["HAND", "CHEST"], "HAND"), ("", None), (None, None), ([], None),
])
def test_body_part(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert tags.body_part(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("PA", "PA"), ("AP", "AP"), ("LL", "LL"), ("RL", "RL"), ("LATERAL", "LATERAL"), ("AP SUPINE", "AP"),
    ("LLD", "LLD"), ("KIM MINSU", "OTHER"), ("Jane Doe 1945", "OTHER"), (b"PA", "PA"), (None, None),
])
def test_view_position(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert tags.view_position(value) == expected


def test_modality_photometric_and_yes_no() -> None:
    assert [tags.modality(v) for v in ("DX", "cr", "CT", "JOHN", None)] == ["DX", "CR", "CT", "OTHER", None]
    assert tags.photometric("MONOCHROME2") == "MONOCHROME2" and tags.photometric("Hong Gildong") == "OTHER"
    assert [tags.yes_no(v) for v in ("YES", "no", "", None, "MAYBE")] == [True, False, None, None, None]
    assert all(len(term) <= 16 for term in tags.BODY_PARTS | tags.VIEW_POSITIONS | tags.MODALITIES)


def test_the_loader_keeps_only_terms_and_the_burned_in_flag() -> None:
    img = load_image(corpus.phi_dicom(burned_in="YES", Modality="John Kim", PhotometricInterpretation="MONOCHROME2"))
    assert (img.modality, img.body_part, img.view_position) == ("OTHER", "OTHER", "OTHER")
    assert img.meta["burned_in_annotation"] is True and set(img.meta) <= DICOM_META_KEYS
    said = repr(img) + repr(img.meta)
    assert not [s for s in ("HONG", "GILDONG", "KIM", "MINSU", "Kim", "John", "JOHN") if s in said]
    clean = load_image(corpus.phi_dicom("CHEST", "PA", burned_in="NO"))
    assert (clean.body_part, clean.view_position) == ("CHEST", "PA") and clean.meta["burned_in_annotation"] is False
    assert "burned_in_annotation" not in load_image(corpus.phi_dicom("CHEST", "PA")).meta
