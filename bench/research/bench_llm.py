"""The packaged Gemma-3-270M as a report writer on CPU: load time, time to first token, tokens/s.

* convert: ``core.llm.gemma.ensure_converted()`` (GGUF -> bf16 folder), once, in a child process
  (skipped when the copy already exists; ``--convert`` times a fresh conversion into a temporary
  weights folder);
* load: ``core.llm.hf.load`` of the bf16 folder, first in this process and then a warm reload
  (cache cleared, files in the page cache);
* generation: the chest prompt (two worked examples + the case's facts) in English and Korean,
  greedy, ``--threads`` torch threads: prompt tokens, time to first token, decode tokens/s, why
  it stopped, and whether the consistency guard passed the text;
* peak resident memory of this process (load + generation; conversion runs in its own process).

    python -m bench.research.bench_llm [--threads 2] [--new-tokens 128] [--dtype float32] [--convert]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.chest.facts import ChestReportFacts, FindingFact

FACTS = ChestReportFacts(
    findings=(FindingFact("Effusion", "effusion", 0.81, "positive", "high", "pleura", "left", "lower"),
              FindingFact("Consolidation", "consolidation", 0.62, "positive", "moderate", "lung", "left", "lower"),
              FindingFact("Cardiomegaly", "cardiomegaly", 0.56, "uncertain", "low", "heart"),
              FindingFact("Mass", "mass", 0.07, "negative", "high", "lung", "right", "upper")),
    preset="balanced", operating_point=0.5, band=0.1, model_title="TorchXRayVision DenseNet-121",
    model_version="res224-all", n_assessed=18,
)


def convert(weights_dir: str | None) -> float:
    """Run ensure_converted in a child process; seconds (wall clock)."""
    code = ("import sys; from pathlib import Path; from core.llm import gemma; "
            "gemma.ensure_converted(Path(sys.argv[1]) if sys.argv[1] else None)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, weights_dir or ""], check=True, cwd=Path(__file__).resolve().parent.parent)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--max-time", type=float, default=300.0)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--convert", action="store_true", help="time a fresh conversion into a temporary folder")
    args = parser.parse_args()

    import torch

    from core.llm import gemma, hf
    from core.llm.guarded_writer import default_check
    from core.llm.prompts import chest_prompt

    if not gemma.installed():
        print(f"gemma package not installed: {gemma.INSTALL_COMMAND}")
        return 0
    torch.set_num_threads(args.threads)
    figures: dict[str, object] = {"threads": args.threads, "dtype": args.dtype, "torch": torch.__version__}
    if args.convert:
        with tempfile.TemporaryDirectory() as tmp:
            figures["convert_s"] = round(convert(tmp), 1)
    elif not gemma.is_converted():
        figures["convert_s"] = round(convert(None), 1)
    else:
        figures["convert_s"] = "already converted (use --convert to time it)"
    folder = str(gemma.converted_dir())

    hf.clear_cache()
    start = time.perf_counter()
    loaded = hf.load(folder, dtype=args.dtype)
    figures["load_first_s"] = round(time.perf_counter() - start, 2)
    del loaded  # one copy at a time: the warm reload's peak memory is one model, not two
    hf.clear_cache()
    gc.collect()
    start = time.perf_counter()
    loaded = hf.load(folder, dtype=args.dtype)
    figures["load_warm_s"] = round(time.perf_counter() - start, 2)

    # one short warm-up generation (first-call allocations), then the measured runs
    list(hf.stream_generate(loaded, "FINDINGS", max_new_tokens=4, max_time=60))
    for lang in ("en", "ko"):
        prompt = chest_prompt(FACTS, lang)
        stats = hf.Generation()
        text = "".join(hf.stream_generate(loaded, prompt.text, max_new_tokens=args.new_tokens,
                                          max_time=args.max_time, stop=prompt.stop, stats=stats))
        decode_s = stats.total_s - (stats.first_token_s or 0.0)
        report = prompt.prefix + text
        verdict = default_check(report, FACTS, lang)
        figures[lang] = {
            "prompt_tokens": stats.prompt_tokens, "new_tokens": stats.new_tokens, "stop": stats.stop,
            "first_token_s": round(stats.first_token_s or 0.0, 2),
            "decode_tokens_per_s": round((stats.new_tokens - 1) / decode_s, 1) if decode_s > 0 else None,
            "total_s": round(stats.total_s, 2), "guard_ok": bool(getattr(verdict, "ok", False)),
        }
        print(f"--- {lang} text ---\n{report}\n", flush=True)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
