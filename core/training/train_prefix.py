"""Build training data for, and train, the image-prefix LoRA report model (:mod:`core.llm.prefix`).

::

    python -m core.training.train_prefix build-data --out DIR            # features + facts + targets (JSONL)
    python -m core.training.train_prefix train --data DIR/train.jsonl --out weights/ADAPTER.safetensors \\
        --steps 200 --batch 4 --max-minutes 35

**Data** (``build-data``): every radiograph of ``../shared/data`` that weights may be trained on
(NIH ChestX-ray14; covid rows under CC BY / Apache, see its README) goes through the active chest
model exactly as on the page (:func:`core.chest.analysis.analyse`: gate, classifier, heatmap
locations). Its pooled features (the facts' ``image_embedding``) and its facts at the three
operating-point presets give the prompt (:func:`core.llm.prefix.build_prompt`); the target is a
short FINDINGS / IMPRESSION text written from the same facts with the structured writer's words
(:mod:`core.llm.structured`: finding names, status and location phrases) in one of several
templates / sentence orders, in Korean and English. Split by patient: NIH train/val patients of
``core.training.tasks.nih_task`` (+ the permissive covid rows) train, the NIH test patients are
held out (``heldout.jsonl``, balanced preset, for ``bench/bench_prefix.py``).

**JSONL lines**: ``{"features": [...]}`` *or* ``{"image": "path"}`` (features computed with the
active chest model), plus ``"prompt"`` and ``"target"`` (or ``"facts"`` + ``"lang"``, from which
both are written), optional ``"patient"``, ``"split"``.

**Training** (``train``): seeded; AdamW on the LoRA + projector parameters only (LLM frozen),
linear warm-up then cosine decay, progress lines, checkpoints, a wall-clock budget
(``--max-minutes``), a GPU when one is present. The output is one safetensors file (see
:meth:`core.llm.prefix.PrefixLoRAModel.save`) whose metadata records the base LLM, the vision model
(name + SHA-256), the data and the loss curve.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.analysis import analyse
from core.chest.facts import ChestReportFacts, FindingFact
from core.chest.loader import load_best_model
from core.chest.reading import OperatingPoint
from core.imaging import load_image
from core.llm.gemma import GGUF_SHA256, LICENCE, ensure_converted
from core.llm.prefix import Example, PrefixConfig, PrefixLoRAModel, build_prompt
from core.llm.structured import finding_name, location_phrase, status_phrase
from core.models.card import ModelCard
from core.settings import get_settings
from core.training.data import is_permissive, load_covid
from core.training.tasks import nih_task

LANGS = ("en", "ko")
PRESETS = ("balanced", "sensitive", "specific")


# --- facts <-> JSON ------------------------------------------------------------------------------
def facts_to_dict(facts: ChestReportFacts) -> dict[str, Any]:
    """JSON-ready facts without the image embedding."""
    data = asdict(facts)
    data.pop("image_embedding", None)
    return data


def facts_from_dict(data: dict[str, Any], embedding: Sequence[float] | None = None) -> ChestReportFacts:
    data = dict(data)
    findings = tuple(FindingFact(**f) for f in data.pop("findings"))
    data["gate_notes"] = tuple(data.get("gate_notes", ()))
    data["model_titles"] = tuple((str(lang), str(title)) for lang, title in data.get("model_titles", ()))
    return ChestReportFacts(findings=findings, image_embedding=None if embedding is None else tuple(embedding), **data)


# --- target texts --------------------------------------------------------------------------------
_WORDS = {
    "en": {"findings": "FINDINGS", "impression": "IMPRESSION", "score": "score", "sep": ", ",
           "others": ["Other findings are below the uncertain band.", "No other finding is flagged.",
                      "The remaining findings are negative."],
           "unc_f": ["Uncertain (low certainty): {names}.", "Within the uncertain band: {names}."],
           "unc_i": ["Uncertain findings are worth a second look.", "The uncertain findings need a second look."],
           "none_f": ["No finding reaches the uncertain band.", "None of the {n} findings is flagged."],
           "none_i": ["No finding flagged. This does not rule out disease.",
                      "Nothing flagged at the {preset} point; this does not rule out disease."],
           "none_pos": ["No finding is likely present.", "No definite finding."],
           "caveat": ["Screening aid, not a diagnosis.", "A clinician must review the image."]},
    "ko": {"findings": "소견", "impression": "결론", "score": "점수", "sep": ", ",
           "others": ["나머지 소견은 불확실 구간보다 낮습니다.", "그 밖에 표시된 소견은 없습니다.", "나머지 소견은 음성입니다."],
           "unc_f": ["불확실(확실도 낮음): {names}.", "불확실 구간: {names}."],
           "unc_i": ["불확실한 소견은 다시 볼 필요가 있습니다.", "불확실 소견은 다시 확인이 필요합니다."],
           "none_f": ["불확실 구간에 드는 소견이 없습니다.", "{n}개 소견 중 표시된 것이 없습니다."],
           "none_i": ["표시된 소견 없음. 질환이 없다는 뜻은 아닙니다.",
                      "'{preset}' 기준점에서 표시된 소견이 없습니다. 질환이 없다는 뜻은 아닙니다."],
           "none_pos": ["있을 가능성이 높은 소견은 없습니다.", "뚜렷한 소견은 없습니다."],
           "caveat": ["선별 보조 도구이며 진단이 아닙니다.", "의료진이 영상을 확인해야 합니다."]},
}


def _finding_item(fact: FindingFact, lang: str, style: int) -> str:
    name, status, where = finding_name(fact, lang), status_phrase(fact, lang), location_phrase(fact, lang)
    score = f"{_WORDS[lang]['score']} {fact.probability:.2f}"
    if style == 0:
        return f"{name}: {status}" + (f", {where}" if where else "") + f" ({score})."
    if style == 1:
        return f"{name} {status} ({score})" + (f", {where}." if where else ".")
    return (f"{where[:1].upper()}{where[1:]}: " if where else "") + f"{name}, {status}."


def target_text(facts: ChestReportFacts, lang: str, variant: int) -> str:
    """A short FINDINGS / IMPRESSION text from ``facts`` in one of several styles (``variant``).

    Positive findings are named with status, location (and score in two styles of three);
    uncertain findings are listed once by name; negatives are only summarised. Every finding name,
    status and location phrase is the structured writer's (:mod:`core.llm.structured`).

    Raises:
        ValueError: ``lang`` is neither ``en`` nor ``ko``.
    """

    if lang not in _WORDS:
        raise ValueError(f"unsupported language {lang!r}")
    w = _WORDS[lang]
    rng = random.Random(variant)
    style, bullets = variant % 3, (variant // 3) % 2 == 1
    pos, unc = facts.positives, facts.uncertain
    unc_names = w["sep"].join(finding_name(f, lang) for f in unc)
    body = [_finding_item(f, lang, style) for f in pos]
    if unc:
        body.append(rng.choice(w["unc_f"]).format(names=unc_names))
    body.append(rng.choice(w["others"]) if pos or unc else rng.choice(w["none_f"]).format(n=facts.n_assessed))
    imp: list[str] = []
    if pos:
        if rng.random() < 0.5:
            for i, f in enumerate(pos, 1):
                where = location_phrase(f, lang)
                imp.append(f"{i}. {finding_name(f, lang)}: {status_phrase(f, lang)}" + (f", {where}." if where else "."))
        else:
            imp.append(w["sep"].join(f"{finding_name(f, lang)} ({status_phrase(f, lang)})" for f in pos) + ".")
    elif unc:
        imp.append(rng.choice(w["none_pos"]))
    else:
        imp.append(rng.choice(w["none_i"]).format(preset=facts.preset))
    if unc:
        imp.append(rng.choice(w["unc_i"]))
    imp.append(rng.choice(w["caveat"]))
    if bullets:
        return (f"{w['findings']}:\n" + "\n".join(f"- {b}" for b in body) + f"\n{w['impression']}:\n" + "\n".join(imp))
    return f"{w['findings']}: " + " ".join(body) + f"\n{w['impression']}: " + " ".join(imp)


# --- data building --------------------------------------------------------------------------------
def _features_text(vec: np.ndarray) -> list[float]:
    return [float(f"{v:.4g}") for v in np.asarray(vec, dtype=np.float32)]


def active_vision_model() -> Any:
    """The chest model the app would load now (through :mod:`core.chest.loader`).

    Raises:
        MissingModelError: no chest model is installed.
    """

    return load_best_model()


def build_data(root: Path, out: Path, seed: int = 0, limit: int | None = None, log: Any = print) -> dict[str, Any]:
    """Write ``train.jsonl``, ``val.jsonl`` and ``heldout.jsonl`` under ``out``; returns a summary.

    Raises:
        FileNotFoundError: no shared data under ``root``.
        MissingModelError: no chest model installed.
    """

    model = active_vision_model()
    task = nih_task(Path(root), seed=0)
    rows: list[tuple[str, Any]] = [("train", s) for s in task.train.samples] + [("val", s) for s in task.val.samples]
    rows += [("heldout", s) for s in task.test.samples]
    try:
        covid = load_covid(Path(root), permissive_only=True)
        rows += [("train", s) for s in covid.samples if is_permissive(s.license)]
    except FileNotFoundError:
        pass
    if limit:
        rows = rows[:limit]
    out.mkdir(parents=True, exist_ok=True)
    files = {name: (out / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("train", "val", "heldout")}
    rng = random.Random(seed)
    counts = {"train": 0, "val": 0, "heldout": 0, "refused": 0, "images": 0}
    t0 = time.perf_counter()
    try:
        for n, (split, sample) in enumerate(rows, 1):
            image = load_image(Path(sample.path).read_bytes(), Path(sample.path).name)
            result = analyse(image, model)
            if not result.analysed:
                counts["refused"] += 1
                continue
            counts["images"] += 1
            feats = _features_text(result.prediction.features)
            presets = ("balanced",) if split == "heldout" else PRESETS
            for preset in presets:
                facts = result.facts(OperatingPoint.of(preset))
                for lang in LANGS:
                    variant = rng.randrange(1000)
                    line = {
                        "split": split, "patient": sample.patient, "image": str(sample.path), "source": sample.source,
                        "licence": sample.license, "lang": lang, "preset": preset, "variant": variant,
                        "facts": facts_to_dict(facts), "prompt": _prompt(facts, lang),
                        "target": target_text(facts, lang, variant), "features": feats,
                    }
                    files[split].write(json.dumps(line, ensure_ascii=False) + "\n")
                    counts[split] += 1
            if n % 50 == 0:
                log(f"[data] {n}/{len(rows)} images, {time.perf_counter() - t0:.0f} s")
    finally:
        for fh in files.values():
            fh.close()
    summary = {"vision_model": model.name, "vision_sha256": model.sha256, "feature_dim": len(feats) if counts["images"] else 0,
               "counts": counts, "seconds": round(time.perf_counter() - t0, 1),
               "split": "NIH patients: core.training.tasks.nih_task seed 0 (train+val -> train/val, test -> heldout); "
                        "covid rows with CC BY / Apache licences -> train"}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _prompt(facts: ChestReportFacts, lang: str) -> str:
    return build_prompt(facts, lang)


# --- reading JSONL ------------------------------------------------------------------------------
def read_examples(path: Path, vision: Any = None, split: str | None = None) -> list[Any]:
    """Examples from a JSONL file (see module doc). ``vision``: chest model for ``image`` lines.

    Raises:
        ValueError: a line has neither features nor an image, or neither prompt/target nor facts.
    """

    out = []
    for no, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        if split and row.get("split", split) != split:
            continue
        if "features" in row:
            feats = np.asarray(row["features"], dtype=np.float32)
        elif "image" in row:
            if vision is None:
                vision = active_vision_model()

            img = load_image(Path(row["image"]).read_bytes(), Path(row["image"]).name)
            feats = np.asarray(vision.predict(img).features, dtype=np.float32)
        else:
            raise ValueError(f"{path}:{no}: needs 'features' or 'image'")
        if "prompt" in row and "target" in row:
            prompt, target = row["prompt"], row["target"]
        elif "facts" in row:
            facts = facts_from_dict(row["facts"])
            lang = row.get("lang", "en")
            prompt, target = _prompt(facts, lang), target_text(facts, lang, int(row.get("variant", 0)))
        else:
            raise ValueError(f"{path}:{no}: needs 'prompt' and 'target', or 'facts'")
        out.append(Example(feats, prompt, target))
    return out


# --- training -----------------------------------------------------------------------------------
def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_base(base: str | None, dtype: str, device: str) -> tuple[Any, Any, str, str | None]:
    """``(model, tokenizer, base name, base sha256)``; ``base`` None: the converted Gemma-3-270M."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sha = None
    if base is None:

        path, name, sha = ensure_converted(), "gemma-3-270m", GGUF_SHA256
    else:
        path, name = Path(base), Path(base).name
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device)
    return model, tok, name, sha


def batches(n: int, batch: int, seed: int) -> Iterator[list[int]]:
    """Endless shuffled index batches (reshuffled each epoch with ``seed + epoch``)."""
    epoch = 0
    while True:
        order = list(range(n))
        random.Random(seed + epoch).shuffle(order)
        for i in range(0, n - batch + 1 if n >= batch else 1, batch):
            yield order[i:i + batch]
        epoch += 1


def train(args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    """Train and save; returns the run summary. See ``python -m core.training.train_prefix train -h``."""
    import torch


    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    data = read_examples(Path(args.data), split=args.split)
    if not data:
        raise ValueError(f"no examples in {args.data}")
    vision_name, vision_sha = args.vision_model, args.vision_sha256
    summary_path = Path(args.data).with_name("summary.json")
    if not vision_name and summary_path.exists():
        s = json.loads(summary_path.read_text(encoding="utf-8"))
        vision_name, vision_sha = s.get("vision_model", ""), s.get("vision_sha256", "")
    base, tok, base_name, base_sha = load_base(args.base, args.dtype, device)
    cfg = PrefixConfig(
        feature_dim=int(data[0].features.shape[0]), hidden_size=base.get_input_embeddings().embedding_dim,
        num_prefix_tokens=args.prefix_tokens, r=args.r, lora_alpha=args.alpha, lora_dropout=args.dropout,
        target_modules=tuple(args.targets.split(",")), base_model=base_name, base_model_sha256=base_sha,
        vision_model=vision_name or "", vision_sha256=vision_sha or "", max_new_tokens=args.max_new_tokens,
    )
    init_meta: dict[str, Any] = {}
    if args.init:  # continue from a saved adapter (same config; its training log is kept)
        cfg, init_meta = PrefixLoRAModel.read_config(Path(args.init))
        model = PrefixLoRAModel.load(Path(args.init), base, tok)
        for name, p in model.named_parameters():
            p.requires_grad_("lora_" in name or name.startswith("projector."))
    else:
        model = PrefixLoRAModel.create(base, tok, cfg, seed=args.seed)
    model.projector.to(device)
    if args.max_tokens:
        def n_tokens(e: Any) -> int:
            return len(tok(e.prompt + e.target, add_special_tokens=False)["input_ids"]) + 2 + cfg.num_prefix_tokens

        before = len(data)
        data = [e for e in data if n_tokens(e) <= args.max_tokens]
        log(f"[train] kept {len(data)}/{before} examples of at most {args.max_tokens} tokens")
    val = read_examples(Path(args.val_data))[: args.val_n] if args.val_data else []
    if args.max_tokens and val:
        val = [e for e in val if n_tokens(e) <= args.max_tokens]

    def val_loss() -> float | None:
        if not val:
            return None
        model.eval()
        with torch.inference_mode():
            losses = [float(model.loss(val[i:i + args.batch])) for i in range(0, len(val), args.batch)]
        model.train()
        return round(sum(losses) / len(losses), 4)

    val_before = val_loss()
    if val_before is not None:
        log(f"[train] validation loss before training {val_before:.3f} ({len(val)} examples)")
    params = model.trainable_parameters()
    n_train = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    warm = max(1, min(args.warmup, args.steps // 5))

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, args.steps - warm))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    log(f"[train] {len(data)} examples, {n_train:,} trainable parameters, device {device}, "
        f"dtype {args.dtype}, {args.steps} steps x batch {args.batch}, budget {args.max_minutes} min")
    out = Path(args.out)
    meta = {"base_model": base_name, "vision_model": cfg.vision_model, "vision_sha256": cfg.vision_sha256,
            "data": str(args.data), "data_sha256": _file_sha(Path(args.data)), "seed": args.seed,
            "lr": args.lr, "batch": args.batch, "planned_steps": args.steps, "max_tokens": args.max_tokens,
            "examples": len(data), "dtype": args.dtype}
    if init_meta:
        meta["init"] = {k: init_meta.get(k) for k in ("steps", "minutes", "lr", "batch", "seed", "val_loss_before",
                                                      "val_loss_after", "curve", "init")}
    curve: list[tuple[int, float, float]] = []
    t0 = time.perf_counter()
    ema = None
    step = 0
    model.train()
    it = batches(len(data), args.batch, args.seed)
    for step in range(1, args.steps + 1):
        idx = next(it)
        loss = model.loss([data[i] for i in idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        value = float(loss.detach())
        ema = value if ema is None else 0.9 * ema + 0.1 * value
        minutes = (time.perf_counter() - t0) / 60
        curve.append((step, round(value, 4), round(minutes, 2)))
        if step % args.log_every == 0 or step == 1:
            log(f"[train] step {step}/{args.steps} loss {value:.3f} (ema {ema:.3f}) lr {sched.get_last_lr()[0]:.2e} "
                f"{minutes:.1f} min")
        if args.checkpoint_every and step % args.checkpoint_every == 0:
            model.save(out, dtype=getattr(torch, args.save_dtype), metadata={**meta, "steps": step, "curve": curve})
        if args.max_minutes and minutes >= args.max_minutes:
            log(f"[train] time budget reached after {step} steps")
            break
    minutes = (time.perf_counter() - t0) / 60
    val_after = val_loss()
    if val_after is not None:
        log(f"[train] validation loss after training {val_after:.3f}")
    model.eval()
    summary = {**meta, "steps": step, "minutes": round(minutes, 2), "final_loss_ema": round(ema or 0.0, 4),
               "val_loss_before": val_before, "val_loss_after": val_after, "examples": len(data),
               "first_loss": curve[0][1] if curve else None, "trainable_parameters": n_train, "curve": curve,
               "config": cfg.to_dict()}
    model.save(out, dtype=getattr(torch, args.save_dtype), metadata={k: v for k, v in summary.items() if k != "config"})
    out.with_suffix(".train.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    log(f"[train] saved {out} ({out.stat().st_size / 1e6:.2f} MB) after {step} steps, {minutes:.1f} min")
    return summary


# --- model card ---------------------------------------------------------------------------------
def write_card(adapter: Path, card_path: Path, bench: Path | None = None, name: str = "gemma-lora-drdc-prefix") -> dict[str, Any]:
    """Write the registry card of a trained adapter file (sha256, size, config, training figures,
    and the guard figures of ``bench`` when given: the JSON of ``bench/bench_prefix.py --json``)."""

    cfg, meta = PrefixLoRAModel.read_config(adapter)
    curve = meta.get("curve") or []
    metrics: dict[str, Any] = {
        "source": "measured here: training log of the adapter file; guard figures from bench/bench_prefix.py",
        "training": {
            "steps": meta.get("steps"), "minutes": meta.get("minutes"), "batch": meta.get("batch"), "lr": meta.get("lr"),
            "first_loss": curve[0][1] if curve else None, "final_loss_ema": meta.get("final_loss_ema"),
            "val_loss_before": meta.get("val_loss_before"), "val_loss_after": meta.get("val_loss_after"),
            "examples": meta.get("examples"), "dtype": meta.get("dtype"),
            "loss_every_10_steps": [c[1] for c in curve[::10]], "data_sha256": meta.get("data_sha256"),
        },
    }
    if bench and Path(bench).exists():
        metrics["held_out_guard"] = json.loads(Path(bench).read_text(encoding="utf-8"))["summary"]

    card = {
        "name": name, "task": "llm-adapter",
        "title": "LoRA Dr.DeepChest - image-prefix LoRA adapter for Gemma-3-270M (chest reports)",
        "version": f"1.0 ({time.strftime('%Y-%m-%d')})",
        "architecture": f"{cfg.base_model} + LoRA r={cfg.r} on {'/'.join(cfg.target_modules)} + "
                        f"projector {cfg.feature_dim}->{cfg.num_prefix_tokens}x{cfg.hidden_size}",
        "file": adapter.name, "sha256": _file_sha(adapter), "size_bytes": adapter.stat().st_size, "urls": [],
        "licence": ("Gemma Terms of Use apply: this adapter is a model derivative of Gemma-3-270M "
                    f"({LICENCE.removesuffix(')')} and weights/NOTICE-GEMMA.txt)). Training code Apache-2.0; training images: NIH ChestX-ray14 (public "
                    "release) and covid-chestxray rows under CC BY / Apache-2.0 only."),
        "labels": [],
        "input": {"vision_model": cfg.vision_model, "vision_sha256": cfg.vision_sha256, "feature_dim": cfg.feature_dim,
                  "base_model": cfg.base_model, "base_model_sha256": cfg.base_model_sha256,
                  "prompt": "core.llm.prefix.build_prompt(facts, lang)", "languages": ["ko", "en"],
                  "max_new_tokens": cfg.max_new_tokens},
        "metrics": metrics,
        "intended_use": ("Writes a short FINDINGS / IMPRESSION draft in Korean or English from the chest "
                         "classifier's facts and its pooled image features, for the report page's 'gemma-lora' "
                         "writer. The draft is shown only after the consistency guard passes it; otherwise the "
                         "structured report is shown. Screening aid, not a diagnosis."),
        "limitations": [
            "It restates the classifier's output; it adds no image reading of its own and is never better than the classifier.",
            "Works only with the chest model it was trained with (name and SHA-256 in 'input'); other features are refused.",
            "Trained for minutes on 2 CPU cores on template texts: phrasing is narrow, and long lists of findings can be cut at max_new_tokens.",
            "Gemma-3-270M is a small base model: it can repeat itself or drop a finding; the guard catches what it checks, not everything.",
        ],
        "references": ["Gemma 3 technical report (Google DeepMind, 2025)", "Hu et al., LoRA, ICLR 2022",
                       "Li & Liang, Prefix-Tuning, ACL 2021", "docs/llm_prefix.md"],
        "bundled": True,
        "train_command": ("python -m core.training.train_prefix build-data --out weights/downloads/prefix-data && "
                          "python -m core.training.train_prefix train --data weights/downloads/prefix-data/train.jsonl "
                          "--val-data weights/downloads/prefix-data/val.jsonl --val-n 6 "
                          f"--out weights/{adapter.name} --steps {meta.get('planned_steps', meta.get('steps'))} "
                          f"--batch {meta.get('batch')} --lr {meta.get('lr')} --warmup 5 "
                          f"--prefix-tokens {cfg.num_prefix_tokens} --max-tokens {meta.get('max_tokens')} "
                          f"--seed {meta.get('seed')} --threads 2 --max-minutes 33"),
        "loader": "core.llm.prefix",
        "translations": {"ko": {
            "title": "LoRA Dr.DeepChest - Gemma-3-270M용 영상 접두 LoRA 어댑터 (흉부 판독문)",
            "intended_use": ("흉부 분류기의 결과(사실)와 영상 특징 벡터로 한국어 또는 영어의 짧은 소견/결론 초안을 씁니다. "
                             "보고서 화면의 'gemma-lora' 작성기가 쓰며, 일관성 검사를 통과한 초안만 보여 주고 아니면 "
                             "구조화 보고서를 보여 줍니다. 선별 보조 도구이며 진단이 아닙니다."),
            "limitations": [
                "분류기 출력을 다시 서술할 뿐 영상을 따로 판독하지 않으며, 분류기보다 나을 수 없습니다.",
                "학습에 쓴 흉부 모델(이름과 SHA-256은 'input' 참고)의 특징만 받습니다. 다른 모델의 특징은 거부합니다.",
                "2개의 CPU 코어에서 몇십 분 동안 템플릿 문장으로 학습했습니다. 표현이 단조롭고, 소견이 많으면 최대 토큰 수에서 잘릴 수 있습니다.",
                "Gemma-3-270M은 작은 기본 모델이라 반복하거나 소견을 빠뜨릴 수 있습니다. 검사기는 검사하는 항목만 잡아냅니다.",
            ]}},
    }

    ModelCard.from_dict(card)  # validate
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return card


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.training.train_prefix", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-data", help="features + facts + targets from ../shared/data (JSONL)")
    b.add_argument("--root", default=None, help="shared data folder (default ../shared/data)")
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--limit", type=int, default=None)
    t = sub.add_parser("train", help="train the adapter + projector on a JSONL file")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True, help="output .safetensors file")
    t.add_argument("--base", default=None, help="transformers folder (default: converted Gemma-3-270M)")
    t.add_argument("--init", default=None, help="continue training this saved adapter (its config is used)")
    t.add_argument("--split", default=None, help="use only lines with this 'split'")
    t.add_argument("--steps", type=int, default=200)
    t.add_argument("--batch", type=int, default=4)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--warmup", type=int, default=10)
    t.add_argument("--prefix-tokens", type=int, default=4)
    t.add_argument("--r", type=int, default=8)
    t.add_argument("--alpha", type=int, default=16)
    t.add_argument("--dropout", type=float, default=0.05)
    t.add_argument("--targets", default="q_proj,v_proj")
    t.add_argument("--max-new-tokens", type=int, default=120)
    t.add_argument("--max-tokens", type=int, default=0, help="drop examples longer than this (0: keep all)")
    t.add_argument("--val-data", default=None, help="JSONL for a validation loss before and after training")
    t.add_argument("--val-n", type=int, default=24)
    t.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall-clock time (0: none)")
    t.add_argument("--checkpoint-every", type=int, default=25)
    t.add_argument("--log-every", type=int, default=5)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    t.add_argument("--save-dtype", default="float16", choices=("float32", "bfloat16", "float16"))
    t.add_argument("--cpu", action="store_true", help="ignore a GPU")
    t.add_argument("--vision-model", default="", help="chest model name (default: summary.json beside --data)")
    t.add_argument("--vision-sha256", default="")
    c = sub.add_parser("card", help="write the registry card of a trained adapter")
    c.add_argument("--adapter", required=True)
    c.add_argument("--card", required=True)
    c.add_argument("--bench", default=None, help="JSON written by bench/bench_prefix.py --json")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "build-data":

        root = Path(args.root) if args.root else get_settings().samples_dir
        print(json.dumps(build_data(Path(root), Path(args.out), args.seed, args.limit), indent=1))
        return 0
    if args.cmd == "card":
        print(json.dumps(write_card(Path(args.adapter), Path(args.card), Path(args.bench) if args.bench else None),
                         ensure_ascii=False, indent=1)[:2000])
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
