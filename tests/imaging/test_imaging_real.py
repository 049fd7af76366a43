"""load_image on the real radiographs in ../shared/data (skipped when the folder is absent)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from core.imaging import ImageInput, load_image
from core.imaging.dicom_meta import DICOM_META_KEYS

from .helpers import dicom_bytes

# Elements that identify a patient, study or institution; none may leave the loader.
PHI_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "InstitutionName",
    "AccessionNumber", "ReferringPhysicianName", "StudyDate", "StudyTime", "StudyID",
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SeriesDescription",
    "MediaStorageSOPInstanceUID",
)


def _dicom(shared_data: Path, name: str) -> bytes:
    return (shared_data / "dicom" / name).read_bytes()


def _phi_values(data: bytes) -> list[str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    values = []
    for keyword in PHI_KEYWORDS:
        for source in (ds, ds.file_meta):
            value = source.get(keyword)
            if value not in (None, ""):
                values.append(str(value))
    return values


def _everything_said(result: ImageInput, caught: list[warnings.WarningMessage]) -> str:
    return "\n".join([repr(result), str(result), repr(result.meta), *(str(w.message) for w in caught)])


def test_real_dicom_monochrome2_loads_with_spacing_and_modality(shared_data: Path) -> None:
    img = load_image(_dicom(shared_data, "siim_pneumothorax_sample.dcm"), "siim_pneumothorax_sample.dcm")
    assert img.source_format == "DICOM"
    assert img.pixels.shape == (1024, 1024) and img.pixels.dtype == np.float32
    assert 0.0 <= img.pixels.min() < 0.05 and 0.95 < img.pixels.max() <= 1.0
    assert img.is_color is False
    assert img.spacing_mm == pytest.approx((0.168, 0.168))
    assert img.meta["spacing_source"] == "PixelSpacing"
    assert (img.modality, img.body_part, img.view_position) == ("CR", "CHEST", "PA")
    assert img.photometric == "MONOCHROME2" and img.bit_depth == 8
    assert img.meta["transfer_syntax"] == "JPEG Baseline (Process 1)"
    assert img.meta["voi"] == "percentile"  # the file has no window: robust 0.5-99.5 % window
    # Lungs are dark and the mediastinum/bone bright on a correctly oriented PA film.
    h, w = img.pixels.shape
    lungs = img.pixels[h // 3 : 2 * h // 3, w // 8 : w // 3].mean()
    spine = img.pixels[h // 3 : 2 * h // 3, int(w * 0.47) : int(w * 0.53)].mean()
    assert spine > lungs + 0.1


def test_fake_monochrome1_is_inverted_for_display(shared_data: Path) -> None:
    """``fake_monochrome1.dcm`` is byte-for-byte the SIIM file with only (0028,0004) changed to
    MONOCHROME1 (its stored values are identical, not inverted), so a correct loader shows it
    as the exact negative of the MONOCHROME2 original."""
    mono2 = _dicom(shared_data, "siim_pneumothorax_sample.dcm")
    mono1 = _dicom(shared_data, "fake_monochrome1.dcm")
    stored_2 = pydicom.dcmread(io.BytesIO(mono2)).pixel_array
    stored_1 = pydicom.dcmread(io.BytesIO(mono1)).pixel_array
    assert np.array_equal(stored_1, stored_2)  # the fixture's premise

    a, b = load_image(mono2, "a.dcm"), load_image(mono1, "b.dcm")
    assert b.photometric == "MONOCHROME1" and b.meta["inverted"] is True
    assert b.spacing_mm == a.spacing_mm and b.modality == "CR"
    assert float(np.abs((1.0 - b.pixels) - a.pixels).max()) < 1e-6


def test_a_true_monochrome1_copy_displays_like_the_original(shared_data: Path) -> None:
    """MONOCHROME1 storing the inverted values (max - v) must give the same display pixels as
    the MONOCHROME2 original: bone bright in both."""
    original = _dicom(shared_data, "siim_pneumothorax_sample.dcm")
    ds = pydicom.dcmread(io.BytesIO(original))
    stored = ds.pixel_array
    ds.set_pixel_data((255 - stored).astype(np.uint8), "MONOCHROME1", 8, generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    inverted_file = dicom_bytes(ds)

    a, b = load_image(original), load_image(inverted_file)
    assert b.photometric == "MONOCHROME1"
    assert float(np.abs(a.pixels - b.pixels).max()) < 1e-5


@pytest.mark.parametrize("name", ["siim_pneumothorax_sample.dcm", "fake_monochrome1.dcm"])
def test_real_dicom_phi_never_leaves_the_loader(shared_data: Path, name: str) -> None:
    data = _dicom(shared_data, name)
    phi = [v for v in _phi_values(data) if len(v) >= 6]  # long enough to be meaningful as text
    assert phi, "the sample should carry patient/study identifiers to check against"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = load_image(data, name)
    said = _everything_said(img, caught)
    leaked = [v for v in phi if v in said]
    assert not leaked, f"PHI values leaked: {leaked}"
    assert set(img.meta) <= DICOM_META_KEYS
    assert name not in said  # the file name may itself identify a patient


def test_real_nih_pngs(shared_data: Path) -> None:
    paths = sorted((shared_data / "cxr" / "nih14" / "images").glob("*.png"))[:6]
    assert paths
    for path in paths:
        img = load_image(path.read_bytes(), path.name)
        assert img.source_format == "PNG" and img.pixels.shape == (512, 512)
        assert img.is_color is False and img.bit_depth == 8
        assert 0.0 <= img.pixels.min() and img.pixels.max() <= 1.0
        assert img.pixels.std() > 0.05
        assert img.spacing_mm is None and img.modality is None


def test_real_covid_jpegs(shared_data: Path) -> None:
    paths = sorted((shared_data / "cxr" / "covid" / "images").glob("*.jpg"))[::90]
    assert len(paths) >= 5
    for path in paths:
        img = load_image(path.read_bytes(), path.name)
        assert img.source_format == "JPEG"
        assert max(img.pixels.shape[:2]) <= 512 and min(img.pixels.shape[:2]) >= 32  # "longest side 512" or less
        assert img.is_color is False and img.pixels.ndim == 2
        assert img.pixels.std() > 0.03


def test_real_samples_are_grayscale_even_when_stored_as_rgb(shared_data: Path) -> None:
    paths = sorted((shared_data / "cxr" / "samples").iterdir())
    assert len(paths) == 7
    rgb_stored = 0
    for path in paths:
        img = load_image(path.read_bytes(), path.name)
        rgb_stored += img.photometric == "RGB"
        assert img.is_color is False and img.pixels.ndim == 2, path.name
        assert img.pixels.dtype == np.float32 and 0 <= img.pixels.min() and img.pixels.max() <= 1
    assert rgb_stored >= 3  # TBX11K PNGs and the JPEGs are 3-channel files of gray images
    big = load_image((shared_data / "cxr" / "samples" / "covid-19-pneumonia-58-prior.jpg").read_bytes())
    assert big.pixels.shape == (2373, 2373)
