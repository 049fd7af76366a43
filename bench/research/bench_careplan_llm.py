"""How often does the packaged Gemma-3-270M write a care plan that passes the care-plan guard?

Cases: ``--n`` questionnaires and grade sets drawn with a fixed seed (every required answer, a few
optional ones, each of the six grades 0-3 or not measured), alternately Korean and English. Each
goes through the scalp page's path: knowledge-base plan -> care-plan prompt -> the ``gemma``
writer -> :func:`core.llm.guarded_writer.run_guarded` (greedy, the writer's own token and time limits).
Prints, per case, whether the guard passed and why not, time to first chunk, and the rate.

Needs the converted Gemma (``make llm``); says so and exits 0 without it.

    python -m bench research careplan [--n 8] [--seed 0] [--lang both|ko|en]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def random_case(rng: Any) -> tuple[dict[str, Any], dict[str, int | None]]:
    """(questionnaire form, grades) drawn from the real option lists."""
    from core.scalp.questionnaire import EXCLUSIVE, MULTI, REQUIRED_SINGLE, SINGLE
    from core.scalp.severity import CONDITIONS

    form: dict[str, Any] = {name: str(rng.choice(SINGLE[name])) for name in REQUIRED_SINGLE}
    for name in ("hair_state", "products_used", "care_wishes", "purchase_considerations"):
        options = [o for o in MULTI[name] if o != EXCLUSIVE.get(name)]
        k = int(rng.integers(1, 3))
        form[name] = [str(o) for o in rng.choice(options, size=k, replace=False)]
    grades: dict[str, int | None] = {c: int(rng.integers(0, 4)) for c in CONDITIONS}
    if rng.random() < 0.3:
        grades[str(rng.choice(list(CONDITIONS)))] = None  # not measurable on this photo
    return form, grades


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lang", choices=("both", "ko", "en"), default="both")
    args = parser.parse_args(argv)

    from core.llm.gemma import is_converted

    if not is_converted():
        print("skipped: the packaged Gemma is not converted here (make llm)")
        return 0
    import torch

    from core.llm.careplan import care_plan_facts
    from core.llm.guarded_writer import run_guarded
    from core.scalp import Questionnaire, build_plan

    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    passed, firsts = 0, []
    for i in range(args.n):
        form, grades = random_case(rng)
        answers = Questionnaire.from_form(form)
        facts = care_plan_facts(build_plan(grades, answers), grades, answers)
        lang = ("ko" if i % 2 == 0 else "en") if args.lang == "both" else args.lang
        started = time.perf_counter()
        first: list[float] = []

        def on_chunk(chunk: str, first: list[float] = first, started: float = started) -> None:
            if chunk and not first:
                first.append(time.perf_counter() - started)

        outcome = run_guarded("gemma", facts, lang, on_chunk)
        total = time.perf_counter() - started
        passed += outcome.checked
        firsts += first[:1]
        why = "" if outcome.checked else f"  -> {outcome.note('en')}"
        graded = ", ".join(f"{c}={g}" for c, g in grades.items())
        print(f"[{i + 1}/{args.n}] {lang} pass={outcome.checked!s:5s} stop={outcome.stop} first chunk "
              f"{(first or [total])[0]:.1f} s, total {total:.1f} s, {len(outcome.draft)} chars; {graded}{why}",
              flush=True)
    median_first = float(np.median(firsts)) if firsts else float("nan")
    print(f"gemma care plans passing the guard: {passed}/{args.n}; median time to first chunk {median_first:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
