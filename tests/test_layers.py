"""Imports point one way (issue #15): every import in core/, ui/, views/ and app.py, at module
level, inside functions and under ``TYPE_CHECKING``, goes down this order, never up or sideways::

    views (views/, app.py)
      ^
    ui
      ^
    export (core.export) | samples (core.samples) | health (core.health: a replica's readiness)
      ^
    llm (core.llm: report writers)
      ^
    chest | shoulder | scalp | board          (siblings: never import each other)
      ^
    models (core.models: the weights registry)
      ^
    imaging (core.imaging)
      ^
    base (core.settings, core.i18n, core.errors, core.audit, core.storage, core.slots, core.metrics,
          core.session_memory: may import each other)

    core.training (fitting, experiments) may import anything in core, and nothing in core, ui or
    views imports it. No module in core imports streamlit.

A new top-level package or module must be placed in :data:`LAYERS` (a test fails until it is).
The few imports that break a rule on purpose are listed, with their reason, in :data:`EXCEPTIONS`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layers from the bottom up; a unit may import units of lower layers and its own unit only.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("base", frozenset({"core", "core.settings", "core.i18n", "core.errors", "core.audit", "core.audit_pg",
                        "core.session_memory", "core.storage", "core.slots", "core.metrics"})),
    ("imaging", frozenset({"core.imaging"})),
    ("models", frozenset({"core.models"})),
    ("features", frozenset({"core.chest", "core.shoulder", "core.scalp", "core.board"})),
    ("llm", frozenset({"core.llm"})),
    ("export", frozenset({"core.export", "core.samples", "core.health"})),
    ("ui", frozenset({"ui"})),
    ("views", frozenset({"views", "app"})),
)
TRAINING = "core.training"
#: Layers whose units are siblings that must not import each other (the base modules may).
SIBLING_LAYERS = frozenset({"features", "export"})
RANK = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
LAYER_OF = {unit: name for name, units in LAYERS for unit in units}

#: ``(importing module, imported module prefix) -> reason``: the only imports allowed to break a rule.
EXCEPTIONS: dict[tuple[str, str], str] = {}  # none: fitting code lives in core.training


@dataclass(frozen=True)
class Violation:
    """One import that breaks a layer rule."""

    path: str
    line: int
    source: str
    target: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}: {self.rule}"


def module_name(rel: Path) -> str:
    """``core/chest/gate.py`` -> ``core.chest.gate``; ``core/llm/__init__.py`` -> ``core.llm``."""
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """The layer unit of a project module: ``core.<x>`` for core, ``ui`` / ``views`` / ``app`` otherwise."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 1 else parts[0]


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, module)`` of every import anywhere in ``tree`` (``from pkg import sub`` names ``pkg.sub``)."""
    out: list[tuple[int, str]] = []  # in order, each (line, module) once
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((node.lineno, sub if _is_module(sub) else base))
    return list(dict.fromkeys(out))


def check_source(text: str, rel: str) -> list[Violation]:
    """The layer violations of one file's source ``text`` at ``rel`` (a path like ``core/chest/x.py``).

    Raises:
        SyntaxError: ``text`` is not Python.
        KeyError: the file's own unit is in no layer (place it in :data:`LAYERS`).
    """
    path = Path(rel)
    module = module_name(path)
    src_unit = unit_of(module)
    if src_unit != TRAINING and src_unit not in RANK:
        raise KeyError(f"{rel}: unit {src_unit!r} is in no layer; place it in tests/test_layers.py LAYERS")
    found = []
    for line, target in imported_modules(ast.parse(text, filename=rel), module, path.name == "__init__.py"):
        top = target.split(".")[0]
        rule = None
        if top == "streamlit":
            if src_unit.startswith("core"):
                rule = "core never imports streamlit"
        elif top in ("core", "ui", "views", "app"):
            rule = _rule(src_unit, unit_of(target))
        if rule and not any(module == m and (target == p or target.startswith(p + ".")) for m, p in EXCEPTIONS):
            found.append(Violation(rel, line, module, target, rule))
    return found


def _rule(src: str, dst: str) -> str | None:
    """The rule an import from unit ``src`` to unit ``dst`` breaks, or None."""
    if src == dst:
        return None
    if dst == TRAINING:
        return "training code is imported only by core.training (never by runtime core, ui or views)"
    if src == TRAINING:
        return None if dst.startswith("core") else f"core.training imports core only ({dst} is above it)"
    if dst not in RANK:
        return f"{dst} is in no layer; place it in tests/test_layers.py LAYERS"
    if RANK[dst] > RANK[src]:
        return f"upward import: {LAYER_OF[src]} ({src}) must not import {LAYER_OF[dst]} ({dst})"
    if RANK[dst] == RANK[src] and LAYER_OF[src] in SIBLING_LAYERS:
        return f"sibling import: {src} and {dst} are both in layer {LAYER_OF[src]} and must not import each other"
    return None


def project_files() -> list[Path]:
    files = [p for d in ("core", "ui", "views") for p in sorted((ROOT / d).rglob("*.py"))]
    return [*files, ROOT / "app.py"]


def test_every_import_points_down_the_layers() -> None:
    files = project_files()
    assert len(files) > 100 and all(f.is_file() for f in files)  # the scan really reads the project
    violations = [v for f in files
                  for v in check_source(f.read_text(encoding="utf-8"), f.relative_to(ROOT).as_posix())]
    assert not violations, "layer violations (see tests/test_layers.py):\n" + "\n".join(map(str, violations))


def test_every_exception_names_an_existing_module() -> None:
    for (module, target), reason in EXCEPTIONS.items():
        assert reason and _is_module(target), (module, target)
        assert unit_of(module) in RANK, module


@pytest.mark.parametrize(("rel", "source", "rule"), [
    ("core/i18n.py", "from core.imaging import load_image\n", "upward import: base (core.i18n) must not import imaging"),
    ("core/imaging/x.py", "from core.chest import gate\n", "upward import: imaging (core.imaging) must not import features"),
    ("core/chest/x.py", "def f():\n    import core.llm.structured\n", "upward import: features (core.chest)"),
    ("core/chest/x.py", "if True:\n    from core.export.pdf import PdfBuilder\n", "must not import export"),
    ("core/models/x.py", "def f():\n    from core.chest.labels import slug\n", "upward import: models"),
    ("core/settings.py", "from core import samples\n", "upward import: base (core.settings) must not import export"),
    ("core/chest/x.py", "from core.shoulder.phantom import Phantom\n", "sibling import: core.chest and core.shoulder"),
    ("core/board/x.py", "from ui.common import tr\n", "upward import: features (core.board) must not import ui"),
    ("ui/x.py", "from views import chest\n", "must not import views"),
    ("core/chest/x.py", "def fit():\n    from core.training.tasks import nih_task\n", "training code is imported only by core.training"),
    ("views/x.py", "from core.training import train\n", "training code is imported only by core.training"),
    ("core/llm/x.py", "import streamlit as st\n", "core never imports streamlit"),
    ("core/training/x.py", "from ui.common import tr\n", "core.training imports core only"),
    ("core/chest/sub/x.py", "from ... import llm\n", "upward import: features (core.chest) must not import llm"),
])
def test_the_checker_reports_a_forbidden_import(rel: str, source: str, rule: str) -> None:
    found = check_source(source, rel)
    assert len(found) == 1 and rule in found[0].rule, found
    assert str(found[0]).startswith(f"{rel}:{source.count(chr(10))}: "), str(found[0])


@pytest.mark.parametrize(("rel", "source"), [
    ("core/chest/x.py", "from core.imaging import load_image\nfrom core.models import registry\nfrom core.i18n import t\n"),
    ("core/llm/x.py", "def f():\n    from core.chest.facts import FindingFact\n    from core.scalp.careplan import CarePlan\n"),
    ("core/export/x.py", "from core.chest.analysis import heatmap\nfrom core.llm.structured import location_phrase\n"),
    ("views/x.py", "import streamlit as st\nfrom ui.common import tr\nfrom core.export.chest import to_pdf\n"),
    ("core/training/x.py", "from core.chest.nets import build\nfrom core.llm.prefix import build_prompt\n"),
    ("core/errors.py", "from core.i18n import t\nfrom core.settings import get_settings\n"),
    ("core/training/gate_fit.py", "from core.chest.gate import descriptor\nfrom core.training.tasks import nih_task\n"),
])
def test_the_checker_allows_downward_imports(rel: str, source: str) -> None:
    assert check_source(source, rel) == []


def test_a_module_in_no_layer_is_refused() -> None:
    with pytest.raises(KeyError, match="in no layer"):
        check_source("import os\n", "core/newthing.py")
    assert "in no layer" in check_source("from core.newthing import x\n", "core/chest/x.py")[0].rule
