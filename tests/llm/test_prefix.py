"""The image-prefix LoRA model end to end on a tiny random Llama (no download, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

from core.chest.facts import ChestReportFacts, FindingFact  # noqa: E402
from core.llm import get_writer, writer_names  # noqa: E402
from core.llm.prefix import Example, PrefixConfig, PrefixLoRAModel, build_prompt  # noqa: E402
from core.llm.prefix_writer import PrefixLoRAWriter  # noqa: E402
from core.training.train_prefix import facts_from_dict, facts_to_dict, main, read_examples, target_text  # noqa: E402

D = 12  # feature size of the fake vision model

EFFUSION = FindingFact("Effusion", "effusion", 0.86, "positive", "high", "pleura", "left", "lower")
CARDIO = FindingFact("Cardiomegaly", "cardiomegaly", 0.55, "uncertain", "low", "heart")
MASS = FindingFact("Mass", "mass", 0.1, "negative", "high", "lung", "right", "upper")


def _facts(*findings: FindingFact, emb=None) -> ChestReportFacts:
    return ChestReportFacts(findings=findings, preset="balanced", operating_point=0.5, band=0.1,
                            model_title="Vision", model_version="1", n_assessed=14, image_embedding=emb)


TEXTS = [
    build_prompt(_facts(EFFUSION, CARDIO, MASS), "en") + target_text(_facts(EFFUSION, CARDIO, MASS), "en", v)
    for v in range(6)
] + [build_prompt(_facts(MASS), "en") + target_text(_facts(MASS), "en", v) for v in range(6)]


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(TEXTS, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="[BOS]", eos_token="[EOS]", pad_token="[PAD]",
                                   unk_token="[UNK]")


def _llama(tok, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, initializer_range=0.2,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="module")
def tok():
    return _tokenizer()


def _cfg(**kw) -> PrefixConfig:
    base = dict(feature_dim=D, hidden_size=32, num_prefix_tokens=2, lora_dropout=0.0, vision_model="vision-x",
                vision_sha256="ab" * 32, max_new_tokens=40)
    base.update(kw)
    return PrefixConfig(**base)


def _examples(n: int = 4) -> list[Example]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        facts = _facts(EFFUSION, CARDIO, MASS) if i % 2 == 0 else _facts(MASS)
        out.append(Example(rng.normal(size=D).astype(np.float32), build_prompt(facts, "en"), target_text(facts, "en", i)))
    return out


def _train(model: PrefixLoRAModel, data: list[Example], steps: int, lr: float = 1e-2) -> list[float]:
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model.loss(data)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return model.eval() and losses


def test_config_is_validated_like_lora_config() -> None:
    assert _cfg().target_modules == ("q_proj", "v_proj") and _cfg().r == 8
    for bad in (dict(r=0), dict(lora_dropout=1.0), dict(target_modules=()), dict(feature_dim=-3), dict(lora_alpha=0)):
        with pytest.raises(ValueError):
            _cfg(**bad)
    assert PrefixConfig.from_dict(_cfg().to_dict()) == _cfg()
    with pytest.raises(TypeError):
        PrefixConfig.from_dict({**_cfg().to_dict(), "bogus": 1})


def test_only_lora_and_projector_train_and_labels_cover_the_target_only(tok) -> None:
    model = PrefixLoRAModel.create(_llama(tok), tok, _cfg())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or n.startswith("projector.") for n in names)
    assert any("q_proj.lora_A" in n for n in names) and any("v_proj.lora_B" in n for n in names)
    ex = _examples(2)
    batch = model.encode(ex)
    assert batch["inputs_embeds"].shape[:2] == batch["labels"].shape
    for i, e in enumerate(ex):
        n_target = len(tok(e.target, add_special_tokens=False)["input_ids"]) + 1  # + eos
        labels = batch["labels"][i]
        assert int((labels != -100).sum()) == n_target
        start = 1 + 2 + len(tok(e.prompt, add_special_tokens=False)["input_ids"])  # bos + prefix + prompt
        assert (labels[:start] == -100).all() and int(labels[start]) != -100
        assert int(labels[start + n_target - 1]) == tok.eos_token_id


def test_loss_falls_and_the_prefix_is_used(tok) -> None:
    model = PrefixLoRAModel.create(_llama(tok), tok, _cfg())
    data = _examples(4)
    losses = _train(model, data, 25, lr=3e-2)
    assert losses[-1] < 0.5 * losses[0], losses
    # the fast target-only loss equals cross-entropy over the full logits
    batch = model.encode(data[:2])
    with torch.no_grad():
        full = model.llm(inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"]).logits
        ref = torch.nn.functional.cross_entropy(full[:, :-1].reshape(-1, full.shape[-1]), batch["labels"][:, 1:].reshape(-1))
        assert float(model.loss(data[:2])) == pytest.approx(float(ref), rel=1e-4)
        other = [Example(e.features * 0 + 5.0, e.prompt, e.target) for e in data[:1]]
        assert not torch.allclose(model.logits(data[:1]), model.logits(other))


def test_save_and_reload_give_identical_logits(tok, tmp_path: Path) -> None:
    model = PrefixLoRAModel.create(_llama(tok, seed=3), tok, _cfg())
    data = _examples(2)
    _train(model, data, 5)
    path = model.save(tmp_path / "adapter.safetensors", dtype=torch.float32, metadata={"steps": 5})
    cfg, meta = PrefixLoRAModel.read_config(path)
    assert cfg == model.cfg and meta["steps"] == 5 and cfg.vision_model == "vision-x"
    again = PrefixLoRAModel.load(path, _llama(tok, seed=3), tok)
    with torch.no_grad():
        assert torch.equal(model.logits(data), again.logits(data))
        half = PrefixLoRAModel.load(model.save(tmp_path / "half.safetensors"), _llama(tok, seed=3), tok)
        assert torch.allclose(model.logits(data), half.logits(data), atol=2e-2)
        fresh = PrefixLoRAModel.create(_llama(tok, seed=3), tok, _cfg())
        assert not torch.allclose(model.logits(data), fresh.logits(data), atol=1e-3)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError):
        PrefixLoRAModel.read_config(tmp_path / "other.safetensors")


def test_generation_streams_and_reproduces_a_learned_report(tok) -> None:
    """What matters is what the model writes, not how low the loss goes: the loss floor of this tiny
    model differs between CPUs (about 0.5 on an AMD EPYC, under 0.01 elsewhere) while greedy
    decoding reproduces both learned reports on both. One optimizer, rounds of 50 steps, until the
    decoded texts match (usually 2-4 rounds)."""
    model = PrefixLoRAModel.create(_llama(tok, seed=1), tok, _cfg())
    data = _examples(2)
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-2)

    def learned() -> bool:
        return all(model.generate_text(d.features, d.prompt, max_new_tokens=60).split() == d.target.split() for d in data)

    for _ in range(10):
        model.train()
        for _ in range(50):
            loss = model.loss(data)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        if learned():
            break
    chunks = list(model.stream(data[0].features, data[0].prompt, max_new_tokens=60, max_time=30))
    assert len(chunks) > 3
    assert "".join(chunks).split() == data[0].target.split()
    assert model.generate_text(data[1].features, data[1].prompt, max_new_tokens=60).split() == data[1].target.split()
    with pytest.raises(ValueError):
        list(model.stream(np.zeros(D + 1), data[0].prompt))


def test_prompt_and_targets_state_only_flagged_findings() -> None:
    facts = _facts(EFFUSION, CARDIO, MASS)
    en, ko = build_prompt(facts, "en"), build_prompt(facts, "ko")
    assert "Pleural effusion 0.86 likely present, left lower zone" in en and "Uncertain: Cardiomegaly." in en
    assert "Mass" not in en and "Other 12 findings negative" in en
    assert "흉수 0.86 있을 가능성이 높음, 좌측 하폐야" in ko and "종괴" not in ko
    texts = {target_text(facts, lang, v) for lang in ("en", "ko") for v in range(12)}
    assert len(texts) >= 8  # several templates and sentence orders
    for text in texts:
        assert "Mass" not in text and "종괴" not in text
        assert ("Pleural effusion" in text) or ("흉수" in text)
        assert text.index("FINDINGS" if "FINDINGS" in text else "소견") < text.index("IMPRESSION" if "FINDINGS" in text else "결론")
    none = target_text(_facts(MASS), "en", 0)
    assert "Mass" not in none and "rule out" in none
    with pytest.raises(ValueError):
        build_prompt(facts, "fr")
    assert facts_from_dict(json.loads(json.dumps(facts_to_dict(facts)))) == facts


def test_facts_embedding_is_out_of_equality_and_repr() -> None:
    a = _facts(EFFUSION, emb=np.ones(D, dtype=np.float32))
    b = _facts(EFFUSION, emb=(0.5,) * 3)
    assert a == b and hash(a) == hash(b) and "image_embedding" not in repr(a)
    assert _facts(EFFUSION).image_embedding is None


def test_chest_analysis_fills_the_embedding_from_the_same_forward_pass() -> None:
    import cv2

    from core.chest.analysis import analyse
    from core.chest.model import build_test_model
    from core.chest.reading import OperatingPoint
    from core.imaging import load_image

    yy, xx = np.mgrid[0:256, 0:256] / 255.0
    img = np.uint8(255 * (0.3 + 0.4 * np.exp(-((xx - 0.3) ** 2 + (yy - 0.5) ** 2) * 8)
                           + 0.3 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.5) ** 2) * 8)).clip(0, 1))
    ok, png = cv2.imencode(".png", img)
    model = build_test_model()
    result = analyse(load_image(png.tobytes(), "x.png"), model, override=True, image_ref=None, feature_ref=None)
    if not result.analysed:
        pytest.skip("synthetic image refused by the gate")
    facts = result.facts(OperatingPoint.of("balanced"))
    emb = np.asarray(facts.image_embedding)
    assert emb.shape == (1024,) and np.array_equal(emb, result.prediction.features)


def test_writer_streams_checks_the_embedding_and_is_registered(tok) -> None:
    assert "gemma-lora" in writer_names()
    writer = get_writer("gemma-lora")
    assert writer.kind == "llm" and writer.name == "gemma-lora"
    model = PrefixLoRAModel.create(_llama(tok), tok, _cfg(max_new_tokens=8))
    w = PrefixLoRAWriter(model=model, vision_title="Vision")
    assert w.available()
    chunks = list(w.write(_facts(EFFUSION, emb=np.ones(D, dtype=np.float32)), "en"))
    assert chunks and all(isinstance(c, str) for c in chunks)
    assert w.last_stop in ("length", "eos") and w.max_time > 0  # the stream says why it ended


def test_the_writer_reports_a_length_or_time_cut(tok) -> None:
    from core.llm.guarded_writer import GuardedWriter

    model = PrefixLoRAModel.create(_llama(tok), tok, _cfg(max_new_tokens=6))
    facts = _facts(EFFUSION, emb=np.ones(D, dtype=np.float32))
    stats: dict = {}
    text = "".join(model.stream(np.ones(D), "FINDINGS", max_new_tokens=6, max_time=None, stats=stats))
    assert stats["new_tokens"] <= 6 and stats["stop"] in ("length", "eos")
    if stats["stop"] == "length":
        assert stats["new_tokens"] == 6 and text
    w = PrefixLoRAWriter(model=model, vision_title="Vision", max_time=1e-9)  # any generation outlasts this
    out = GuardedWriter(w, check=lambda *_: type("R", (), {"ok": True})()).run(facts, "en")
    assert w.last_stop == "time" and out.time_limited and out.max_time == pytest.approx(1e-9)
    for bad in (_facts(EFFUSION), _facts(EFFUSION, emb=np.ones(D + 4))):
        with pytest.raises(ValueError):
            list(w.write(bad, "en"))
    other = ChestReportFacts(findings=(EFFUSION,), preset="balanced", operating_point=0.5, band=0.1,
                             model_title="Another model", model_version="1", n_assessed=14, image_embedding=np.ones(D))
    with pytest.raises(ValueError):
        list(w.write(other, "en"))
    with pytest.raises(TypeError):
        list(w.write(object(), "en"))  # type: ignore[arg-type]


def test_cli_trains_on_a_tiny_jsonl(tok, tmp_path: Path) -> None:
    base_dir = tmp_path / "tiny-llama"
    _llama(tok).save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    rng = np.random.default_rng(1)
    lines = [{"features": rng.normal(size=D).round(3).tolist(), "prompt": e.prompt, "target": e.target, "split": "train"}
             for e in _examples(4)]
    facts = _facts(EFFUSION, CARDIO)
    lines.append({"features": [0.1] * D, "facts": facts_to_dict(facts), "lang": "ko", "variant": 2, "split": "train"})
    lines.append({"features": [0.0] * D, "prompt": "x", "target": "y", "split": "heldout"})
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    examples = read_examples(data, split="train")
    assert len(examples) == 5 and examples[-1].target == target_text(facts, "ko", 2)
    out = tmp_path / "adapter.safetensors"
    assert main(["train", "--data", str(data), "--out", str(out), "--base", str(base_dir), "--split", "train",
                 "--steps", "6", "--batch", "2", "--lr", "1e-2", "--prefix-tokens", "2", "--cpu", "--log-every", "2",
                 "--vision-model", "vision-x", "--vision-sha256", "cd" * 32, "--checkpoint-every", "3"]) == 0
    cfg, meta = PrefixLoRAModel.read_config(out)
    assert cfg.feature_dim == D and cfg.vision_model == "vision-x" and cfg.vision_sha256 == "cd" * 32
    assert meta["steps"] == 6 and len(meta["curve"]) == 6 and meta["data_sha256"]
    summary = json.loads(out.with_suffix(".train.json").read_text())
    assert summary["steps"] == 6 and summary["trainable_parameters"] > 0
    PrefixLoRAModel.load(out, _llama(tok), tok)  # reloads onto the base
    more = tmp_path / "more.safetensors"
    assert main(["train", "--data", str(data), "--out", str(more), "--base", str(base_dir), "--split", "train",
                 "--steps", "2", "--batch", "2", "--cpu", "--init", str(out), "--checkpoint-every", "0"]) == 0
    cfg2, meta2 = PrefixLoRAModel.read_config(more)
    assert cfg2 == cfg and meta2["init"]["steps"] == 6 and meta2["steps"] == 2
