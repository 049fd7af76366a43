"""`python -m bench` (what `make bench` runs): product benches only, each with quick settings that its
own parser accepts; settled experiments live under bench/research/ and run only when asked."""

from __future__ import annotations

import ast
import subprocess
import sys

from bench.__main__ import QUICK, scripts
from core.settings import PROJECT_ROOT


def _options(path) -> set[str]:  # type: ignore[no-untyped-def]
    """The option strings a bench script's argparse parser declares."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            found.update(a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("--"))
    return found


def test_quick_settings_name_product_benches_and_options_they_declare() -> None:
    product = {p.stem: p for p in scripts()}
    research = {p.stem for p in scripts(research=True)}
    assert product and research and not product.keys() & research
    for stem, args in QUICK.items():
        assert stem in product, stem
        assert {a for a in args if a.startswith("--")} <= _options(product[stem]), stem


def test_an_unknown_bench_name_is_an_error_listing_the_benches() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "no-such-bench"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "bench_chest" in done.stdout and "bench_backbones" in done.stdout
