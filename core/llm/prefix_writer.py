"""The ``gemma-lora`` report writer: Gemma-3-270M + the committed image-prefix LoRA adapter.

Available only when all of these hold (otherwise the page falls back to ``structured``):

* the packaged Gemma-3-270M has been converted (:func:`core.llm.gemma.is_converted`);
* the adapter's weights file is installed and verified by the registry (card
  ``weights/cards/gemma-lora-drdc-prefix.json``, task ``llm-adapter``);
* the chest model the app would load now is the vision model the adapter was trained with (same
  card name and SHA-256 as recorded in the adapter card's ``input``).

:meth:`PrefixLoRAWriter.write` also checks that the facts carry a pooled image embedding of the
right size from that model (``ChestReportFacts.image_embedding``, ``model_title``); it raises
``ValueError`` otherwise. Text is streamed as it is generated (greedy, ``max_new_tokens`` and
``max_time`` bounded).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.facts import ChestReportFacts
from core.errors import MissingModelError
from core.llm import gemma
from core.llm.writer import ReportFacts, register_writer
from core.models import registry
from core.settings import get_settings

WRITER_NAME = "gemma-lora"
ADAPTER_CARD = "gemma-lora-drdc-prefix"


def adapter_card() -> Any | None:
    """The adapter's model card, or None when the registry has none."""
    try:
        return registry.get_card(ADAPTER_CARD)
    except KeyError:
        return None


def vision_matches(card: Any) -> bool:
    """True when the active chest model is the one the adapter was trained with: same name, and the
    same weights file (SHA-256) or the same feature trunk (``features_sha256`` of both cards)."""
    from core.chest.loader import availability  # lazy: imports torch; core.llm is imported by every page

    name, sha = card.input.get("vision_model"), card.input.get("vision_sha256")
    feats = card.input.get("vision_features_sha256")
    try:
        if availability().name != name:
            return False
        vision = registry.get_card(name)
        if feats and feats == vision.input.get("features_sha256"):
            return True  # trained on the very features this model gives (only its head or members changed)
        return sha in (vision.sha256, registry.status(name).sha256)
    except KeyError:
        return False


@lru_cache(maxsize=1)
def _load(path: str, sha256: str, base_dir: str) -> Any:
    import torch  # lazy: torch and transformers only once the writer runs
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.llm.prefix import PrefixLoRAModel

    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    return PrefixLoRAModel.load(Path(path), base, tok)


class PrefixLoRAWriter:
    """Report writer backed by :class:`core.llm.prefix.PrefixLoRAModel`.

    Args:
        model: an already built model (tests); default: Gemma + the committed adapter, loaded once.
        vision_title: title of the chest model whose features ``model`` reads (with ``model``).
    """

    name = WRITER_NAME
    kind = "llm"
    handles = ("chest",)  # trained on chest reports only; never offered for care plans

    def __init__(self, model: Any | None = None, vision_title: str | None = None, max_time: float | None = None) -> None:
        self._model = model
        self._vision_title = vision_title
        self.max_time = float(max_time or get_settings().llm_max_time)  # DRDC_LLM_MAX_TIME
        self.last_stop: str | None = None  # why the last stream ended: eos / length / time

    def available(self) -> bool:
        if self._model is not None:
            return True
        try:
            card = adapter_card()
            return bool(card and gemma.is_converted() and registry.installed_path(card.name) is not None and vision_matches(card))
        except Exception:  # noqa: BLE001 (availability never raises)
            return False

    def model(self) -> Any:
        """The loaded prefix model. Raises ``MissingModelError`` when Gemma or the adapter is missing."""
        if self._model is not None:
            return self._model
        card = adapter_card()
        if card is None or not gemma.is_converted():
            raise MissingModelError("llm.error.missing_model", name=WRITER_NAME,
                                    command="pip install -r requirements-llm.txt")
        path = registry.require(card.name)
        return _load(str(path), card.sha256 or "", str(gemma.converted_dir()))

    def _expected_title(self) -> str | None:
        if self._vision_title is not None or self._model is not None:
            return self._vision_title
        card = adapter_card()
        try:
            return registry.get_card(card.input["vision_model"]).title if card else None
        except KeyError:
            return None

    def write(self, facts: ReportFacts, lang: str) -> Iterator[str]:
        """Stream the report.

        Raises:
            TypeError: not chest facts.
            ValueError: the facts carry no image embedding, one of the wrong size, or come from
                another chest model than the adapter was trained with.
            MissingModelError: Gemma or the adapter is not installed.
        """
        from core.llm.prefix import build_prompt  # lazy: core.llm.prefix imports torch

        if not isinstance(facts, ChestReportFacts):
            raise TypeError(f"PrefixLoRAWriter cannot write {type(facts).__name__}")
        model = self.model()
        emb = facts.image_embedding
        if emb is None:
            raise ValueError("the facts carry no image embedding")
        vec = np.asarray(emb, dtype=np.float32).reshape(-1)
        if vec.shape[0] != model.cfg.feature_dim:
            raise ValueError(f"image embedding has {vec.shape[0]} values, the adapter expects {model.cfg.feature_dim}")
        title = self._expected_title()
        if title is not None and facts.model_title != title:
            raise ValueError(f"facts come from {facts.model_title!r}, the adapter was trained on {title!r}")
        stats: dict[str, Any] = {}
        self.last_stop = None
        yield from model.stream(vec, build_prompt(facts, lang), max_new_tokens=model.cfg.max_new_tokens,
                                max_time=self.max_time, stats=stats)
        self.last_stop = stats.get("stop")


register_writer(WRITER_NAME, PrefixLoRAWriter)
