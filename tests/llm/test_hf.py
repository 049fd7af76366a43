"""The transformers LLM writer on a tiny random Llama built here (no download, a few seconds on CPU)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.chest.facts import ChestReportFacts, FindingFact
from core.errors import MissingModelError
from core.llm import get_writer, hf, writer_names
from core.llm.prompts import chest_prompt
from core.llm.writer import writer_status

WORDS = ("FINDINGS IMPRESSION effusion pneumonia cardiomegaly left right lower upper middle zone lung "
         "likely probably present uncertain score high moderate certainty heart the of and a no finding "
         "is in with at point balanced model classifier output report flagged other below band").split()


def build_tiny_llama(folder: Path, seed: int = 0) -> Path:
    """A random 2-layer Llama (hidden 32) and a word-level tokenizer trained in memory, saved to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    corpus = [" ".join(WORDS)] * 3 + ["- : , . ( ) 0.86 0.64 0.55 1. 2."]  # no "###": the stop marker is <unk>
    core.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=specials))
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", bos_token="<s>",
                                  eos_token="</s>", pad_token="<pad>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tok.bos_token_id, eos_token_id=None, pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = None  # random weights: never stop early by chance
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    hf.clear_cache()
    yield
    hf.clear_cache()


FACTS = ChestReportFacts(
    findings=(FindingFact("Effusion", "effusion", 0.86, "positive", "high", "pleura", "left", "lower"),
              FindingFact("Cardiomegaly", "cardiomegaly", 0.55, "uncertain", "low", "heart")),
    preset="balanced", operating_point=0.5, band=0.1, model_title="Test", model_version="v0", n_assessed=18,
)


def test_writers_are_registered_and_transformers_is_off_without_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRDC_LLM_PATH", raising=False)
    assert {"structured", "transformers", "gemma"} <= set(writer_names())
    status = writer_status("transformers")
    assert status.kind == "llm" and not status.available
    assert status.reason is not None and status.reason.key == "llm.error.not_configured"
    assert status.command and "DRDC_LLM_PATH" in status.command
    assert "DRDC_LLM_PATH" in status.reason.message("ko")


def test_the_writer_loads_a_folder_once_and_streams_text(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDC_LLM_PATH", str(tiny))
    monkeypatch.setenv("DRDC_LLM_MAX_NEW_TOKENS", "24")
    writer = get_writer("transformers")
    assert writer.available() and writer.kind == "llm"
    chunks = list(writer.write(FACTS, "en"))
    assert chunks[0] == "FINDINGS\n"  # the prompt's prefix comes first
    assert len(chunks) > 2, "the continuation streams in several chunks"
    assert writer.last.new_tokens == 24 and writer.last_stop == "length"
    assert writer.last.first_token_s is not None and writer.last.prompt_tokens > 50
    body = "".join(chunks[1:]).split()
    assert body and set(body) <= set(WORDS) | {"-", ":", ",", ".", "(", ")", "0.86", "0.64", "0.55", "1.", "2."}
    # greedy: the same facts give the same text, and the model is not loaded twice
    first = writer.model()
    again = list(get_writer("transformers").write(FACTS, "en"))
    assert again == chunks and get_writer("transformers").model() is first


def test_stop_strings_cut_the_text_and_are_not_shown(tiny: Path) -> None:
    loaded = hf.load(str(tiny))
    free = "".join(hf.stream_generate(loaded, "FINDINGS left lung", max_new_tokens=40, max_time=30))
    words = free.split()
    assert len(words) >= 10
    stop = words[5]  # a word the greedy continuation is known to produce
    stats = hf.Generation()
    cut = "".join(hf.stream_generate(loaded, "FINDINGS left lung", max_new_tokens=40, max_time=30,
                                     stop=(stop,), stats=stats))
    assert stop not in cut and free.startswith(cut) and stats.stop == "stop"
    assert stats.new_tokens < 40


def test_max_new_tokens_bounds_the_output(tiny: Path) -> None:
    loaded = hf.load(str(tiny))
    for n in (3, 11):
        stats = hf.Generation()
        list(hf.stream_generate(loaded, "FINDINGS", max_new_tokens=n, max_time=30, stats=stats))
        assert stats.new_tokens == n and stats.stop == "length"


def test_the_time_limit_cuts_generation_and_the_writer_says_so(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDC_LLM_PATH", str(tiny))
    writer = hf.HFWriter("transformers", str(tiny), max_new_tokens=100_000, max_time=0.4)
    writer.model()  # load outside the timed part
    started = time.perf_counter()
    text = "".join(writer.write(FACTS, "en"))
    elapsed = time.perf_counter() - started
    assert writer.last_stop == "time"
    assert 0 < writer.last.new_tokens < 100_000
    assert elapsed < 10, elapsed  # the limit, plus prompt encoding and one token
    assert text.startswith("FINDINGS\n")


def test_a_lora_adapter_is_loaded_and_changes_the_output(tiny: Path, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny)
    torch.manual_seed(1)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False))
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    assert (adapter / "adapter_config.json").exists()

    plain = hf.load(str(tiny))
    tuned = hf.load(str(tiny), str(adapter))
    assert tuned is not plain and tuned.adapter == str(adapter)
    ids = plain.tokenizer("FINDINGS left lower zone", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        a, b = plain.model(ids).logits, tuned.model(ids).logits
    assert not torch.allclose(a, b, atol=1e-4), "the adapter must change the model"
    with torch.inference_mode():
        expected = lora(ids).logits
    assert torch.allclose(b, expected, atol=1e-4), "merged adapter = the PEFT model"
    writer = hf.HFWriter("transformers", str(tiny), str(adapter), max_new_tokens=5)
    assert "".join(writer.write(FACTS, "ko")).startswith("소견 (FINDINGS)\n")


def test_missing_folders_and_unknown_ids_raise_missing_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(MissingModelError) as info:
        hf.load(str(missing))
    assert info.value.key == "llm.error.missing_path" and str(missing) in info.value.message("ko")

    writer = hf.HFWriter("transformers", str(missing))
    assert not writer.available() and writer.unavailable_reason().key == "llm.error.missing_path"
    with pytest.raises(MissingModelError):
        list(writer.write(FACTS, "en"))

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(MissingModelError) as info:
        hf.load(str(broken))
    assert info.value.key == "llm.error.load_failed"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingModelError) as info:
        hf.load("drdc-test/not-a-real-model")
    assert info.value.key == "llm.error.hub_unreachable"


def test_a_missing_adapter_folder_is_reported(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingModelError) as info:
        hf.load(str(tiny), str(tmp_path / "nope"))
    assert info.value.key == "llm.error.missing_adapter"


def test_the_chest_prompt_states_the_facts_and_has_worked_examples() -> None:
    for lang in ("en", "ko"):
        prompt = chest_prompt(FACTS, lang)
        assert prompt.text.endswith(prompt.prefix)
        tail = prompt.text.rsplit("###", 3)
        case = "###".join(tail[-2:])
        assert "0.86" in case and "0.55" in case
        from core.llm.structured import location_phrase
        assert location_phrase(FACTS.findings[0], lang) in case  # heatmap location
        assert prompt.text.count(prompt.prefix.strip()) >= 3  # two examples + this case
    en = chest_prompt(FACTS, "en").text
    assert "Pleural effusion" in en and "IMPRESSION" in en


@pytest.mark.slow
def test_the_packaged_gemma_writes_a_chest_report() -> None:
    from core.llm import gemma

    if not gemma.is_converted():
        pytest.skip("the packaged Gemma is not converted here (pip install -r requirements-llm.txt, then use it once)")
    writer = hf.HFWriter("gemma", str(gemma.converted_dir()), max_new_tokens=12, max_time=90)
    text = "".join(writer.write(FACTS, "en"))  # ~0.6 token/s on the shared 2-core machine
    assert text.startswith("FINDINGS\n") and text[len("FINDINGS\n"):].strip()
    assert writer.last_stop in hf.STOP_REASONS and 0 < writer.last.new_tokens <= 12
    assert writer.model().tokenizer.vocab_size > 200_000  # it really is Gemma-3
