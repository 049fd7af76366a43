"""Demo mode: sample cases come from the samples folder, or, on a fresh clone without it, from the
small committed set of openly licensed films (described by their source labels, credited)."""

from __future__ import annotations

import json
from pathlib import Path

from core.samples import DEMO_DIR, MANIFEST, bundled_samples, list_samples
from core.settings import get_settings


def test_without_a_samples_folder_the_committed_demo_set_is_used(tmp_path: Path) -> None:
    settings = get_settings({"DRDC_SAMPLES_DIR": str(tmp_path / "absent")})
    chest = list_samples("chest", settings)
    assert chest == bundled_samples("chest") and 8 <= len(chest) <= 12
    assert list_samples("shoulder", settings) == []  # nothing committed for the other pages


def test_the_committed_demo_set_is_small_credited_described_and_decodes() -> None:
    from core.imaging import load_image

    cases = json.loads((DEMO_DIR / "chest" / "cases.json").read_text(encoding="utf-8"))["cases"]
    files = sorted(p.name for p in (DEMO_DIR / "chest").iterdir() if p.name != "cases.json")
    assert sorted(c["file"] for c in cases) == files and len(files) <= 12
    assert sum((DEMO_DIR / "chest" / f).stat().st_size for f in files) <= 3 * 2**20
    credits = (DEMO_DIR / "CREDITS.md").read_text(encoding="utf-8")
    allowed = {"NIH Clinical Center public release (no restriction on use)", "CC BY 4.0", "CC BY 3.0", "CC BY", "Apache 2.0"}
    for case in cases:
        assert case["licence"] in allowed, case
        assert case["credit"] and case["source"].split(" ")[0] in credits
    for sample in bundled_samples("chest"):
        ko, en = sample.describe("ko"), sample.describe("en")
        assert ko and en and sample.source in en
        if sample.no_finding:
            assert "no finding" in en and "소견 없음" in ko
        img = load_image(sample.read_bytes(), sample.name)
        assert min(img.width, img.height) >= 224
    cardio = next(s for s in bundled_samples("chest") if "Cardiomegaly" in s.labels)
    assert "심장비대" in cardio.describe("ko") or "심비대" in cardio.describe("ko"), cardio.describe("ko")


def test_samples_follow_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "dicom").mkdir()
    (tmp_path / "dicom" / "a.dcm").write_bytes(b"x")
    (tmp_path / "dicom" / "notes.txt").write_bytes(b"x")
    (tmp_path / "scalp").mkdir()
    (tmp_path / "scalp" / "me.jpg").write_bytes(b"y")
    settings = get_settings({"DRDC_SAMPLES_DIR": str(tmp_path)})
    chest = list_samples("chest", settings)
    assert [s.name for s in chest] == ["dicom/a.dcm"]
    assert chest[0].read_bytes() == b"x"
    assert [s.name for s in list_samples("scalp", settings)] == ["scalp/me.jpg"]
    assert list_samples("unknown-page", settings) == []


def test_real_samples_folder_gives_chest_cases(shared_data: Path) -> None:
    samples = list_samples("chest", get_settings({"DRDC_SAMPLES_DIR": str(shared_data)}))
    names = {s.name for s in samples}
    assert "dicom/fake_monochrome1.dcm" in names and "cxr/samples/00000001_000.png" in names
    expect = {s.name: s.expect for s in samples}
    assert expect["dicom/fake_monochrome1.dcm"] == "inverted" and expect["dicom/siim_pneumothorax_sample.dcm"] == ""
    assert len(names) == len(samples)  # a file matched by two patterns is listed once
    assert len([n for n in names if n.startswith("cxr/nih14/")]) == 6
    assert MANIFEST.is_file()
    nih = [s for s in samples if s.name.startswith("cxr/nih14/")]
    assert all(s.source == "NIH ChestX-ray14" and (s.labels or s.no_finding) for s in nih)  # labels from labels.csv
