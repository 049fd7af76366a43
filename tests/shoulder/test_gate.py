"""The shoulder page's input gate (issue 14: a colour photo of a cat was taken for "an AP shoulder
radiograph"): colour photos, camera photos and non-radiograph DICOM files are refused; phantoms,
greyscale radiograph exports and shoulder/chest DICOM files pass. The file's facts come from the
session copy decoded in the worker (issue 16: no second decode of the raw bytes in the app)."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from core.i18n import t
from core.imaging.compact import load_compact
from core.shoulder.gate import FileFacts, check_input, facts_of
from core.shoulder.phantom import PhantomSpec, demo_case, render_phantom
from tests.imaging.helpers import forbid_decoding_here

SPEC = PhantomSpec(shape=(320, 260), spacing_mm=0.2, outer_d_mm=20.0, inner_d_mm=13.0, axis_deg=3.0, seed=3)


def colour_photo(shape: tuple[int, int] = (360, 480), seed: int = 0) -> np.ndarray:
    """A photo-like colour picture (an orange cat on green grass, in blobs): RGB uint8."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0], img[..., 1], img[..., 2] = 0.25 + 0.2 * yy, 0.55 + 0.2 * xx, 0.2  # grass
    body = ((xx - 0.45) ** 2 / 0.06 + (yy - 0.45) ** 2 / 0.03) < 1
    head = ((xx - 0.7) ** 2 + (yy - 0.3) ** 2) < 0.012
    for mask in (body, head):
        img[mask] = (0.95, 0.6, 0.25)  # orange fur
    img += rng.normal(0, 0.04, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def encode(pixels: np.ndarray, fmt: str = "JPEG", camera: bool = False) -> bytes:
    im = Image.fromarray(pixels)
    buf = io.BytesIO()
    kw = {}
    if camera:
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Phone Maker", "Phone 12"
        kw["exif"] = exif.tobytes()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def dicom(img: np.ndarray, modality: str = "CR", body_part: str = "SHOULDER") -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.BodyPartExamined = modality, body_part
    ds.Rows, ds.Columns = img.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (np.clip(img, 0, 1) * 4095).astype(np.uint16).tobytes()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def decoded_facts(data: bytes) -> FileFacts:
    """The facts as the page gets them: from the session copy the worker decoded."""
    return facts_of(load_compact(data).to_input())


def _gray(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) / 255.0).mean(axis=-1) if pixels.ndim == 3 else pixels


def _codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {i.code for i in result.issues}


def test_the_demo_phantom_and_test_phantoms_pass() -> None:
    ph, _ = demo_case()
    assert check_input(ph.image).decision() == "accept"
    image = render_phantom(SPEC).image
    png = encode((image * 255).astype(np.uint8), "PNG")
    assert check_input(image, decoded_facts(png)).decision() == "accept"
    assert check_input(image, decoded_facts(dicom(image))).decision() == "accept"
    assert check_input(image, decoded_facts(dicom(image, body_part="CHEST"))).decision() == "accept"  # the humerus is on chest films


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_colour_photo_is_refused_and_may_be_overridden(fmt: str) -> None:
    photo = colour_photo()
    facts = decoded_facts(encode(photo, fmt))
    assert facts.colourfulness is not None and facts.colourfulness > 0.04
    result = check_input(_gray(photo), facts)
    assert result.decision() == "refuse" and "colour" in _codes(result)
    assert result.can_override and result.decision(overridden=True) == "warn"
    ko, en = result.refusals[0].message("ko"), result.refusals[0].message("en")
    assert "컬러 사진" in ko and "colour photo" in en


def test_a_greyscale_camera_photo_is_refused() -> None:
    grey = np.repeat(_gray(colour_photo())[..., None] * 255, 3, axis=-1).astype(np.uint8)
    facts = decoded_facts(encode(grey, "JPEG", camera=True))
    assert facts.camera and (facts.colourfulness or 0) < 0.04
    result = check_input(_gray(grey), facts)
    assert result.decision() == "refuse" and _codes(result) == {"camera"}
    assert not decoded_facts(encode(grey, "JPEG")).camera  # an export without camera details


def test_non_radiograph_dicom_is_refused_and_an_odd_body_part_warns() -> None:
    image = render_phantom(SPEC).image
    mr = check_input(image, decoded_facts(dicom(image, modality="MR")))
    assert mr.decision() == "refuse" and "modality" in _codes(mr)
    assert "MR" in mr.refusals[0].message("en")
    knee = check_input(image, decoded_facts(dicom(image, body_part="KNEE")))
    assert knee.decision() == "warn" and _codes(knee) == {"body_part"}


def test_unusable_quality_is_refused_without_override() -> None:
    tiny = check_input(render_phantom(PhantomSpec(shape=(100, 100), spacing_mm=0.5, outer_d_mm=20, inner_d_mm=13)).image)
    assert tiny.decision() == "refuse" and "too_small" in _codes(tiny) and not tiny.can_override
    flat = check_input(np.full((300, 300), 0.5, np.float32) + np.random.default_rng(0).normal(0, 0.01, (300, 300)))
    assert flat.decision(overridden=True) == "refuse" and "low_contrast" in _codes(flat)


def test_the_facts_need_no_decode_in_the_app_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour, camera and DICOM tags all come back from the worker with the session copy: Pillow
    and pydicom are not asked to read the raw upload again in this process."""
    image = render_phantom(SPEC).image
    grey = np.repeat(_gray(colour_photo())[..., None] * 255, 3, axis=-1).astype(np.uint8)
    uploads = {"photo": encode(colour_photo(), "PNG"), "camera": encode(grey, "JPEG", camera=True),
               "mr": dicom(image, modality="MR", body_part="KNEE")}
    calls = forbid_decoding_here(monkeypatch)
    facts = {name: decoded_facts(data) for name, data in uploads.items()}
    assert not calls
    assert (facts["photo"].colourfulness or 0) > 0.04 and not facts["photo"].camera
    assert facts["camera"].camera and (facts["camera"].colourfulness or 0) < 0.04
    assert facts["mr"] == FileFacts(modality="MR", body_part="KNEE")
    assert t("shoulder.gate.needs_radiograph", "ko")
