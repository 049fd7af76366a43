"""A person opens the chest page, uploads a real radiograph and sees what the app says.

The browser server has no TorchXRayVision weights (they cannot be downloaded here), so the page runs
the bundled offline starter model: a person must see which model it is and how weak it is (the
notice with its measured held-out AUC), the input check passing, the findings table and the
written report, and the upgrade command for the stronger model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.i18n import t
from tests.browser.conftest import shot, wait_for_app


def _open_chest(page, app_url: str, lang: str) -> None:
    """Open the app and go to the chest page through the navigation, as a person does."""
    page.goto(app_url)
    wait_for_app(page)
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    page.get_by_text(t("app.home.welcome", lang)).wait_for()
    page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.chest", lang), exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name=t("app.page.chest", lang)).first.wait_for()


def test_upload_a_real_radiograph_with_the_bundled_starter_model(app_url: str, page, shared_data: Path) -> None:
    from core.chest import loader

    name = loader.availability().name
    if name is None or name == loader.XRV_NAME:
        pytest.skip("needs the bundled starter model as the best installed chest model")
    _open_chest(page, app_url, "ko")
    assert page.get_by_text(t("app.intended_use", "ko")).is_visible()
    page.get_by_text(t("chest.model.starter_notice", "ko", **loader.starter_summary(name))).wait_for()

    radiograph = shared_data / "cxr" / "samples" / "00000001_000.png"
    page.locator("input[type=file]").first.set_input_files(str(radiograph))
    wait_for_app(page)
    page.get_by_text(t("chest.gate.ok", "ko")).wait_for(timeout=90_000)
    wait_for_app(page)
    page.get_by_test_id("stImage").first.wait_for(timeout=60_000)  # the uploaded film is shown
    # headings by role: the findings table's column header reads the same word as its heading
    page.get_by_role("heading", name=t("chest.findings.title", "ko"), exact=True).wait_for(timeout=90_000)
    page.get_by_role("heading", name=t("chest.report.title", "ko"), exact=True).wait_for(timeout=90_000)
    page.get_by_text(t("llm.report.findings_header", "ko")).first.wait_for(timeout=90_000)
    assert page.get_by_test_id("stException").count() == 0
    # the film and at least one heatmap overlay are drawn (images loaded, not just placeholders)
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 2", timeout=60_000)
    assert page.get_by_test_id("stDataFrame").count() >= 2  # the batch summary and the findings table
    shot(page, "chest_starter_ko")
    page.get_by_role("heading", name=t("chest.report.title", "ko"), exact=True).scroll_into_view_if_needed()
    shot(page, "chest_starter_ko_report")
    # the PDF is built when the button is pressed, and what arrives is a PDF
    button = page.get_by_role("button", name=t("export.download_pdf", "ko"))
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=90_000) as info:
        button.click()
    assert Path(info.value.path()).read_bytes()[:5] == b"%PDF-"
    assert not page.errors, page.errors


def test_a_colour_photo_is_refused_in_english(app_url: str, page, tmp_path: Path) -> None:
    import numpy as np
    import skimage.data
    from PIL import Image

    photo = tmp_path / "holiday.jpg"
    Image.fromarray(np.asarray(skimage.data.coffee())).save(photo)
    _open_chest(page, app_url, "en")
    page.locator("input[type=file]").first.set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text(t("chest.gate.colour", "en")).wait_for(timeout=90_000)
    assert page.get_by_test_id("stException").count() == 0
    page.get_by_text(t("chest.gate.refused", "en")).wait_for()
    # the refused photo is still shown, so the person sees what was refused
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
        ".some(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
    wait_for_app(page)
    page.get_by_text(t("chest.gate.colour", "en")).scroll_into_view_if_needed()
    shot(page, "chest_photo_refused_en")


def test_an_extensionless_dicom_and_a_pdf_reach_the_loader(app_url: str, page, shared_data: Path, tmp_path: Path) -> None:
    """No extension filter in the browser: a PACS/CD export without an extension is read as DICOM, and a
    PDF gets the loader's translated advice instead of the browser widget's English refusal."""
    from core.imaging import ImageError, load_image

    dicom = tmp_path / "IM000001"  # as on a PACS or CD export
    dicom.write_bytes((shared_data / "dicom" / "siim_pneumothorax_sample.dcm").read_bytes())
    _open_chest(page, app_url, "ko")
    page.locator("input[type=file]").first.set_input_files(str(dicom))
    wait_for_app(page)
    page.get_by_role("heading", name=t("chest.gate.title", "ko"), exact=True).wait_for(timeout=90_000)
    assert page.get_by_text(t("chest.summary.error", "ko"), exact=True).count() == 0
    assert page.get_by_test_id("stException").count() == 0

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    try:
        load_image(pdf.read_bytes(), pdf.name)
        raise AssertionError("the loader must refuse a PDF")
    except ImageError as err:
        message = err.message("ko")
    _open_chest(page, app_url, "ko")  # a fresh session
    page.locator("input[type=file]").first.set_input_files(str(pdf))
    wait_for_app(page)
    page.get_by_text(message).wait_for(timeout=60_000)
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "chest_pdf_refused_ko")
    assert not page.errors, page.errors
