"""Image-prefix LoRA report model vs base Gemma few-shot: consistency-guard pass rate and speed.

    python -m bench prefix
    python -m bench.bench_prefix --n 36 --max-new-tokens 120 [--only lora|base] [--json out.json]

Held-out radiographs: ``--n`` images from ``--start`` (sorted by file name) of ``heldout.jsonl`` written by
``python -m core.training.train_prefix build-data`` (NIH test-split patients, never trained on), at the
balanced operating point; even positions are written in English, odd ones in Korean, and both
models get the same (image, language) pairs. Each text is checked with
``core.llm.report_guard.check_chest_report`` against the facts it was written from.

* (a) base Gemma-3-270M, few-shot completion prompt (``core.llm.prompts.chest_prompt``: two worked
  examples with the structured writer's text), no prefix, no LoRA (adapter disabled);
* (b) the LoRA-tuned prefix model (the committed adapter, ``weights/cards/gemma-lora-drdc-prefix.json``).

Greedy decoding for both; time to first token (TTFT) and tokens/s of the decode phase per report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path("weights/downloads/prefix-data/heldout.jsonl")


def _cases(path: Path, n: int, start: int = 0) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_image: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_image.setdefault(row["image"], {})[row["lang"]] = row
    images = sorted(by_image)[start:start + n]
    return [by_image[img]["en" if (start + i) % 2 == 0 else "ko"] for i, img in enumerate(images)]


def _timed(chunks: Any) -> tuple[str, float, float]:
    """(text, seconds to first chunk, total seconds)."""
    t0 = time.perf_counter()
    first, parts = None, []
    for chunk in chunks:
        if first is None and chunk:
            first = time.perf_counter() - t0
        parts.append(chunk)
    total = time.perf_counter() - t0
    return "".join(parts), first if first is not None else total, total


def _base_stream(model: Any, facts: Any, lang: str, max_new_tokens: int) -> Any:
    """Few-shot completion with the adapter disabled; yields the prompt's answer prefix, then text."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    from core.llm.prompts import chest_prompt

    prompt = chest_prompt(facts, lang)
    tok = model.tokenizer
    ids = tok(prompt.text, return_tensors="pt")
    streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)

    def run() -> None:
        with torch.inference_mode(), model.llm.disable_adapter():
            model.llm.generate(**ids, streamer=streamer, do_sample=False, max_new_tokens=max_new_tokens,
                               stop_strings=list(prompt.stop), tokenizer=tok, pad_token_id=tok.pad_token_id)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    first = True
    for chunk in streamer:
        if first:
            yield prompt.prefix
            first = False
        yield chunk
    worker.join()


def _trim_stop(text: str) -> str:
    for stop in ("###", "<end_of_turn>", "<eos>"):
        if stop in text:
            text = text[: text.index(stop)]
    return text.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_prefix")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--start", type=int, default=0, help="skip this many images of the sorted list")
    parser.add_argument("--max-new-tokens", type=int, default=120)
    parser.add_argument("--only", choices=("base", "lora"), default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--adapter", default=None, help="adapter file (default: the registry's)")
    parser.add_argument("--json", default=None, help="write every case and figure here")
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.llm.gemma import converted_dir, is_converted
    from core.llm.prefix import PrefixLoRAModel, build_prompt
    from core.training.train_prefix import facts_from_dict

    try:
        from core.llm.report_guard import check_chest_report
    except ImportError:
        print("core.llm.report_guard is not available: nothing to measure")
        return 0
    data = Path(args.data)
    if not is_converted() or not data.exists():
        print(f"skipped: Gemma converted={is_converted()}, held-out data {data} exists={data.exists()}")
        return 0
    if args.adapter:
        adapter = Path(args.adapter)
    else:
        from core.llm.prefix_writer import adapter_card
        from core.models.registry import installed_path

        card = adapter_card()
        adapter = installed_path(card.name) if card else None
        if adapter is None:
            print("skipped: the gemma-lora adapter is not installed")
            return 0
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(converted_dir())
    base = AutoModelForCausalLM.from_pretrained(converted_dir(), dtype=torch.float32)
    model = PrefixLoRAModel.load(adapter, base, tok)
    print(f"loaded Gemma-3-270M + adapter {adapter.name} in {time.perf_counter() - t0:.1f} s "
          f"({torch.get_num_threads()} threads, float32)")
    cases = _cases(data, args.n, args.start)
    print(f"{len(cases)} held-out radiographs ({sum(c['lang'] == 'en' for c in cases)} en, "
          f"{sum(c['lang'] == 'ko' for c in cases)} ko), max {args.max_new_tokens} new tokens, greedy")
    systems = [s for s in ("base", "lora") if args.only in (None, s)]
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    for i, case in enumerate(cases):
        facts = facts_from_dict(case["facts"], case["features"])
        lang = case["lang"]
        for system in systems:
            if system == "base":
                text, ttft, total = _timed(_base_stream(model, facts, lang, args.max_new_tokens))
                text = _trim_stop(text)
            else:
                text, ttft, total = _timed(model.stream(case["features"], build_prompt(facts, lang),
                                                        max_new_tokens=args.max_new_tokens, max_time=120))
            n_tok = len(tok(text, add_special_tokens=False)["input_ids"])
            guard = check_chest_report(text, facts, lang)
            results[system].append({
                "image": Path(case["image"]).name, "lang": lang, "ok": bool(guard.ok),
                "asserted_not_found": list(guard.asserted_not_found), "omitted": list(guard.omitted),
                "problems": list(getattr(guard, "problems", ())), "ttft_s": round(ttft, 3), "total_s": round(total, 3),
                "tokens": n_tok, "tok_per_s": round(max(0, n_tok - 1) / max(1e-6, total - ttft), 2), "text": text,
            })
            r = results[system][-1]
            print(f"[{i + 1}/{len(cases)}] {system:4s} {lang} ok={r['ok']!s:5s} ttft {ttft:.2f} s, {n_tok} tok, "
                  f"{r['tok_per_s']:.1f} tok/s  not_found={r['asserted_not_found']} omitted={r['omitted']}", flush=True)
    summary: dict[str, Any] = {}
    for system, rows in results.items():
        if not rows:
            continue
        ok = sum(r["ok"] for r in rows)
        summary[system] = {
            "n": len(rows), "pass": ok, "pass_rate": round(ok / len(rows), 3),
            "pass_en": f"{sum(r['ok'] for r in rows if r['lang'] == 'en')}/{sum(r['lang'] == 'en' for r in rows)}",
            "pass_ko": f"{sum(r['ok'] for r in rows if r['lang'] == 'ko')}/{sum(r['lang'] == 'ko' for r in rows)}",
            "with_asserted_not_found": sum(bool(r["asserted_not_found"]) for r in rows),
            "with_omitted": sum(bool(r["omitted"]) for r in rows),
            "ttft_median_s": round(statistics.median(r["ttft_s"] for r in rows), 3),
            "tok_per_s_median": round(statistics.median(r["tok_per_s"] for r in rows), 2),
            "tokens_median": statistics.median(r["tokens"] for r in rows),
        }
        s = summary[system]
        print(f"{system}: guard pass {s['pass']}/{s['n']} ({100 * s['pass_rate']:.1f} %; en {s['pass_en']}, ko {s['pass_ko']}), "
              f"asserted-not-found in {s['with_asserted_not_found']}, omissions in {s['with_omitted']}; "
              f"TTFT median {s['ttft_median_s']:.2f} s, decode {s['tok_per_s_median']:.1f} tok/s, "
              f"median {s['tokens_median']} tokens")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "cases": results}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
