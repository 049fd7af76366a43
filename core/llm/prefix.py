"""Image-prefix LoRA report model ("LoRA Dr.DeepChest"): pooled image features -> k prefix
embeddings -> a LoRA-tuned causal LLM that writes FINDINGS / IMPRESSION.

::

    chest model (one forward pass)                      causal LLM (Gemma-3-270M, frozen)
    pooled features (D,) --LayerNorm--Linear--> (k, H) --+
                                                          |  [bos][prefix x k][prompt: facts][target]
    facts -> prompt text --tokenizer--embed------------> -+--> decoder (+ LoRA on q_proj/v_proj)
                                                                      -> loss on target tokens only

* :class:`PrefixConfig` is validated on construction (in the style of peft's ``LoraConfig``) and
  records which base LLM and which vision model (name + SHA-256 of its weights) it was trained
  with, so a writer refuses features from another vision model.
* :class:`PrefixLoRAModel` holds the projector and the peft-wrapped LLM: :meth:`~PrefixLoRAModel.loss`
  for training (labels masked to the target text; logits computed only where a label exists,
  which matters for Gemma's 262k-token vocabulary), :meth:`~PrefixLoRAModel.logits`,
  :meth:`~PrefixLoRAModel.stream` (``TextIteratorStreamer`` on ``inputs_embeds``, greedy,
  ``max_new_tokens`` and ``max_time``) and :meth:`~PrefixLoRAModel.save` / :meth:`~PrefixLoRAModel.load`:
  one safetensors file holding the LoRA tensors, the projector tensors and the JSON config (in the
  file's metadata).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from core.llm.structured import finding_name, location_phrase, status_phrase

FORMAT = "drdc-prefix-lora/1"
IGNORE = -100


@dataclass(frozen=True)
class PrefixConfig:
    """How the prefix model is built. Raises ``ValueError`` for impossible values.

    Attributes:
        feature_dim: D, size of the vision model's pooled features (1280 for EfficientNet-Lite0).
        hidden_size: H, the LLM's embedding size (640 for Gemma-3-270M).
        num_prefix_tokens: k, number of prefix embeddings the projector writes.
        layer_norm: LayerNorm on the features (no affine) and on each prefix embedding.
        r / lora_alpha / lora_dropout / target_modules: the LoRA adapter (peft ``LoraConfig``).
        base_model: what LLM the adapter belongs to (name or path stem).
        base_model_sha256: SHA-256 the base model was verified with (the Gemma GGUF), if known.
        vision_model: registry name of the chest model whose features the projector reads.
        vision_sha256: SHA-256 of that chest model's weights file.
        max_new_tokens: default generation length.
    """

    feature_dim: int
    hidden_size: int
    num_prefix_tokens: int = 4
    layer_norm: bool = True
    r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    base_model: str = ""
    base_model_sha256: str | None = None
    vision_model: str = ""
    vision_sha256: str = ""
    max_new_tokens: int = 120
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("feature_dim", "hidden_size", "num_prefix_tokens", "r", "max_new_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.lora_alpha <= 0:
            raise ValueError(f"lora_alpha must be positive, got {self.lora_alpha!r}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        if not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules):
            raise ValueError("target_modules must name at least one module")
        object.__setattr__(self, "target_modules", tuple(self.target_modules))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrefixConfig:
        """Build from a dict. Raises ``TypeError`` for unknown keys, ``ValueError`` for bad values."""
        data = dict(data)
        if "target_modules" in data:
            data["target_modules"] = tuple(data["target_modules"])
        return cls(**data)


class Projector(nn.Module):
    """``(B, D) -> (B, k, H)``: LayerNorm(D) -> Linear(D, k*H) -> LayerNorm(H) (scaled to ``target_rms``)."""

    def __init__(self, cfg: PrefixConfig, target_rms: float = 1.0) -> None:
        super().__init__()
        self.k, self.hidden = cfg.num_prefix_tokens, cfg.hidden_size
        self.norm_in: nn.Module = nn.LayerNorm(cfg.feature_dim, elementwise_affine=False) if cfg.layer_norm else nn.Identity()
        self.proj = nn.Linear(cfg.feature_dim, cfg.num_prefix_tokens * cfg.hidden_size)
        self.norm_out: nn.Module = nn.LayerNorm(cfg.hidden_size) if cfg.layer_norm else nn.Identity()
        with torch.no_grad():
            nn.init.normal_(self.proj.weight, std=1.0 / math.sqrt(cfg.feature_dim))
            nn.init.zeros_(self.proj.bias)
            if isinstance(self.norm_out, nn.LayerNorm):  # prefix embeddings as large as token embeddings
                self.norm_out.weight.fill_(float(target_rms))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.proj(self.norm_in(features))
        return self.norm_out(x.view(features.shape[0], self.k, self.hidden))


def _decoder_parts(model: nn.Module) -> tuple[nn.Module, nn.Module, float | None]:
    """``(decoder, lm_head, final_logit_softcapping)`` of a (peft-wrapped) causal LM."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = getattr(inner, "model", None)
    head = getattr(inner, "lm_head", None)
    if decoder is None or head is None:
        raise TypeError(f"{type(inner).__name__} has no .model/.lm_head (not a causal LM)")
    cap = getattr(inner.config, "final_logit_softcapping", None)
    return decoder, head, cap


@dataclass(frozen=True)
class Example:
    """One training/eval example: features, prompt text, target text (empty at inference)."""

    features: np.ndarray
    prompt: str
    target: str = ""


class PrefixLoRAModel(nn.Module):
    """Projector + LoRA-wrapped causal LM (see module doc).

    Build with :meth:`create` (fresh adapter) or :meth:`load` (saved adapter); both take the base
    model and tokenizer already loaded, so tests can pass a tiny random Llama.
    """

    def __init__(self, llm: nn.Module, tokenizer: Any, cfg: PrefixConfig, projector: Projector) -> None:
        super().__init__()
        self.llm = llm
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.projector = projector

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def create(cls, base: nn.Module, tokenizer: Any, cfg: PrefixConfig, seed: int = 0) -> PrefixLoRAModel:
        """Wrap ``base`` with a fresh LoRA adapter and projector (base weights frozen).

        Raises:
            ValueError: ``cfg.hidden_size`` is not the base model's embedding size.
        """
        from peft import LoraConfig, get_peft_model

        emb = base.get_input_embeddings()
        if emb.embedding_dim != cfg.hidden_size:
            raise ValueError(f"hidden_size {cfg.hidden_size} != base model embedding size {emb.embedding_dim}")
        torch.manual_seed(seed)
        lora = LoraConfig(r=cfg.r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=list(cfg.target_modules), bias="none", task_type="CAUSAL_LM")
        for p in base.parameters():
            p.requires_grad_(False)
        llm = get_peft_model(base, lora)
        with torch.no_grad():  # RMS of (scaled) token embeddings of the first prompt tokens
            ids = torch.tensor([tokenizer("Chest X-ray findings impression", add_special_tokens=False)["input_ids"]])
            rms = float(llm.get_input_embeddings()(ids).float().pow(2).mean().sqrt())  # Gemma: scaled
        projector = Projector(cfg, target_rms=rms or 1.0).to(next(base.parameters()).dtype)
        return cls(llm, tokenizer, cfg, projector)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def device(self) -> torch.device:
        return next(self.projector.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.projector.parameters()).dtype

    # --- batching ------------------------------------------------------------------------------
    def _ids(self, text: str, bos: bool) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        bos_id = self.tokenizer.bos_token_id
        return ([bos_id] if bos and bos_id is not None else []) + list(ids)

    def encode(self, examples: Sequence[Example], with_target: bool = True) -> dict[str, torch.Tensor]:
        """Right-padded batch: ``inputs_embeds``, ``attention_mask`` and ``labels`` (target only).

        Layout of each row: ``[bos] [prefix x k] [prompt] [target] [eos]`` (``labels`` = -100
        everywhere but on the target and eos).
        """
        k = self.cfg.num_prefix_tokens
        embed = self.llm.get_input_embeddings()
        feats = torch.as_tensor(np.stack([np.asarray(e.features, dtype=np.float32) for e in examples]))
        if feats.shape[1] != self.cfg.feature_dim:
            raise ValueError(f"features have {feats.shape[1]} dims, the projector expects {self.cfg.feature_dim}")
        prefix = self.projector(feats.to(self.device, self.dtype))  # (B, k, H)
        eos = self.tokenizer.eos_token_id
        rows, labels = [], []
        for e in examples:
            head = self._ids(e.prompt, bos=True)
            tail = self._ids(e.target, bos=False) + [eos] if with_target and e.target else []
            rows.append((head, tail))
        length = max(len(h) + len(t) for h, t in rows) + k
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        batch = []
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for i, (head, tail) in enumerate(rows):
            ids = head + tail
            n = len(ids) + k
            padded = torch.tensor(ids + [pad] * (length - n), device=self.device)
            tok = embed(padded)  # (L-k, H)
            nb = 1 if head and head[0] == self.tokenizer.bos_token_id else 0
            batch.append(torch.cat([tok[:nb], prefix[i], tok[nb:]], dim=0))
            mask[i, :n] = 1
            lab = [IGNORE] * (len(head) + k) + tail + [IGNORE] * (length - n)
            labels.append(lab)
        return {
            "inputs_embeds": torch.stack(batch),
            "attention_mask": mask.to(self.device),
            "labels": torch.tensor(labels, device=self.device),
        }

    # --- forward -------------------------------------------------------------------------------
    def logits(self, examples: Sequence[Example]) -> torch.Tensor:
        """Full logits ``(B, L, V)`` of the encoded batch (tests, small batches)."""
        batch = self.encode(examples)
        out = self.llm(inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"])
        return out.logits

    def loss(self, examples: Sequence[Example]) -> torch.Tensor:
        """Mean cross-entropy over target tokens.

        Logits are computed only at positions that predict a target token: the LM head of a
        262k-token vocabulary would otherwise cost more than the whole decoder on CPU.
        """
        batch = self.encode(examples)
        decoder, head, cap = _decoder_parts(self.llm)
        hidden = decoder(inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"]).last_hidden_state
        labels = batch["labels"][:, 1:]
        keep = labels != IGNORE
        logits = head(hidden[:, :-1][keep])
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return F.cross_entropy(logits.float(), labels[keep])

    # --- generation ----------------------------------------------------------------------------
    def stream(
        self,
        features: np.ndarray | Sequence[float],
        prompt: str,
        max_new_tokens: int | None = None,
        max_time: float | None = 60.0,
        stats: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        """Yield the continuation of ``prompt`` (greedy) as text chunks while it is generated.

        Generation runs in a worker thread under ``torch.inference_mode()``; the iterator ends when
        ``max_new_tokens``, ``max_time`` seconds or the end-of-text token is reached. ``stats``
        (when given) receives ``stop`` (``"eos"``, ``"length"`` or ``"time"``) and ``new_tokens``
        once the stream has ended.

        Raises:
            ValueError: ``features`` do not have ``cfg.feature_dim`` values.
            RuntimeError: generation failed in the worker thread (raised after the text so far).
        """
        from transformers import TextIteratorStreamer

        feats = np.asarray(features, dtype=np.float32).reshape(-1)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=(max_time or 600.0) + 60.0)
        errors: list[BaseException] = []
        limit = max_new_tokens or self.cfg.max_new_tokens
        out: dict[str, Any] = {}

        def run() -> None:
            try:
                with torch.inference_mode():
                    batch = self.encode([Example(feats, prompt)], with_target=False)
                    out["ids"] = self.llm.generate(
                        inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"],
                        streamer=streamer, do_sample=False, max_new_tokens=limit,
                        max_time=max_time, pad_token_id=self.tokenizer.pad_token_id,
                        eos_token_id=self.tokenizer.eos_token_id,
                    )
            except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
                errors.append(exc)
                streamer.end()

        if feats.shape[0] != self.cfg.feature_dim:
            raise ValueError(f"features have {feats.shape[0]} dims, the projector expects {self.cfg.feature_dim}")
        self.eval()
        started = time.perf_counter()
        worker = threading.Thread(target=run, name="prefix-lora-generate", daemon=True)
        worker.start()
        yield from (chunk for chunk in streamer if chunk)
        worker.join()
        if errors:
            raise RuntimeError(f"generation failed: {errors[0]}") from errors[0]
        if stats is not None:
            ids = out.get("ids")
            new = int(ids.shape[-1]) if ids is not None and hasattr(ids, "shape") else 0
            ended_by_eos = new > 0 and int(ids[0, -1]) == self.tokenizer.eos_token_id
            stats["new_tokens"] = new
            if ended_by_eos:
                stats["stop"] = "eos"
            elif max_time is not None and time.perf_counter() - started >= max_time:
                stats["stop"] = "time"
            else:
                stats["stop"] = "length" if new >= limit else "eos"

    def generate_text(self, features: np.ndarray | Sequence[float], prompt: str, **kw: Any) -> str:
        return "".join(self.stream(features, prompt, **kw))

    # --- persistence ---------------------------------------------------------------------------
    def state_tensors(self, dtype: torch.dtype = torch.float16) -> dict[str, torch.Tensor]:
        """LoRA + projector tensors (``lora.*`` / ``projector.*``) cast to ``dtype``."""
        from peft import get_peft_model_state_dict

        out = {f"lora.{k}": v.detach().to("cpu", dtype).contiguous() for k, v in get_peft_model_state_dict(self.llm).items()}
        out.update({f"projector.{k}": v.detach().to("cpu", dtype).contiguous() for k, v in self.projector.state_dict().items()})
        return out

    def save(self, path: Path, dtype: torch.dtype = torch.float16, metadata: dict[str, Any] | None = None) -> Path:
        """Write one safetensors file: tensors + ``{"format", "config", ...}`` as JSON metadata."""
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "config": json.dumps(self.cfg.to_dict(), sort_keys=True)}
        meta.update({k: json.dumps(v) for k, v in (metadata or {}).items()})
        tmp = path.with_name(path.name + ".tmp")
        save_file(self.state_tensors(dtype), str(tmp), metadata=meta)
        tmp.chmod(0o644)
        tmp.replace(path)
        return path

    @staticmethod
    def read_config(path: Path) -> tuple[PrefixConfig, dict[str, Any]]:
        """``(config, other metadata)`` of a saved file without loading tensors.

        Raises:
            ValueError: not a prefix-LoRA file.
        """
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file")
        other = {k: json.loads(v) for k, v in meta.items() if k not in ("format", "config")}
        return PrefixConfig.from_dict(json.loads(meta["config"])), other

    @classmethod
    def load(cls, path: Path, base: nn.Module, tokenizer: Any) -> PrefixLoRAModel:
        """Rebuild a saved adapter on ``base`` (its weights are not changed, only wrapped).

        Raises:
            ValueError: not a prefix-LoRA file, or its tensors do not fit ``base``.
        """
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        cfg, _ = cls.read_config(path)
        model = cls.create(base, tokenizer, cfg)
        tensors = load_file(str(path))
        dtype = next(base.parameters()).dtype
        lora = {k[5:]: v.to(dtype) for k, v in tensors.items() if k.startswith("lora.")}
        proj = {k[10:]: v.to(model.dtype) for k, v in tensors.items() if k.startswith("projector.")}
        result = set_peft_model_state_dict(model.llm, lora)
        missing = [k for k in getattr(result, "unexpected_keys", []) if "lora_" in k]
        if missing or not lora:
            raise ValueError(f"{path}: LoRA tensors do not fit the base model ({missing[:3]})")
        model.projector.load_state_dict(proj, strict=True)
        return model.eval()


# --- prompt ------------------------------------------------------------------------------------
_PROMPT = {
    "en": {"head": "Chest X-ray, classifier at the {preset} point.", "pos": "Flagged: {items}.",
           "unc": "Uncertain: {items}.", "none": "Nothing flagged.", "neg": "Other {n} findings negative.",
           "ask": "Short report in English:"},
    "ko": {"head": "흉부 X선, 분류기 {preset} 기준점.", "pos": "표시된 소견: {items}.",
           "unc": "불확실: {items}.", "none": "표시된 소견 없음.", "neg": "나머지 {n}개 음성.",
           "ask": "한국어 짧은 판독문:"},
}


def fact_phrase(fact: Any, lang: str) -> str:
    """``"Pleural effusion 0.86 likely present, left lower zone"`` in ``lang`` (structured writer's words)."""
    where = location_phrase(fact, lang)
    text = f"{finding_name(fact, lang)} {fact.probability:.2f} {status_phrase(fact, lang)}"
    return f"{text}, {where}" if where else text


def build_prompt(facts: Any, lang: str) -> str:
    """The compact prompt stating the classifier's facts: positive findings with probability,
    status and heatmap location; uncertain findings by name (the starter model puts most of its
    14 findings in the uncertain band, so their scores and places would double the prompt);
    negatives only counted.

    Raises:
        ValueError: ``lang`` is neither ``en`` nor ``ko``.
    """
    if lang not in _PROMPT:
        raise ValueError(f"unsupported language {lang!r}")
    w = _PROMPT[lang]
    pos, unc = tuple(facts.positives), tuple(facts.uncertain)
    parts = [w["head"].format(preset=facts.preset)]
    if pos:
        parts.append(w["pos"].format(items="; ".join(fact_phrase(f, lang) for f in pos)))
    if unc:
        parts.append(w["unc"].format(items=", ".join(finding_name(f, lang) for f in unc)))
    if not pos and not unc:
        parts.append(w["none"])
    parts.append(w["neg"].format(n=facts.n_assessed - len(pos) - len(unc)))
    return " ".join(parts) + "\n" + w["ask"] + "\n"
