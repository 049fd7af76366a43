"""The translation layer: complete catalogues, fallbacks, and no untranslated text in pages."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from core import i18n
from core.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
UI_DIRS = [ROOT / "views", ROOT / "ui", ROOT / "app.py"]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_both_languages_with_the_same_placeholders() -> None:
    en, ko = i18n.catalog("en"), i18n.catalog("ko")
    assert en, "English catalogue is empty"
    missing_ko = sorted(set(en) - set(ko))
    missing_en = sorted(set(ko) - set(en))
    assert not missing_ko, f"keys missing in Korean: {missing_ko}"
    assert not missing_en, f"keys missing in English: {missing_en}"
    bad = [k for k in en if _placeholders(en[k]) != _placeholders(ko[k])]
    assert not bad, f"placeholders differ between languages: {bad}"


def test_locale_files_pair_up_and_values_are_not_empty() -> None:
    en_files = {p.name for p in (ROOT / "locales" / "en").glob("*.json")}
    ko_files = {p.name for p in (ROOT / "locales" / "ko").glob("*.json")}
    assert en_files == ko_files
    for lang in i18n.SUPPORTED:
        empty = [k for k, v in i18n.catalog(lang).items() if not v.strip()]
        assert not empty, f"{lang}: empty strings for {empty}"


def test_korean_catalogue_is_actually_korean() -> None:
    """A Korean entry that is a copy of the English one is an untranslated string."""
    en, ko = i18n.catalog("en"), i18n.catalog("ko")
    hangul = re.compile(r"[\uac00-\ud7a3]")
    placeholder = re.compile(r"\{[^{}]*\}")
    copied = [
        k for k in en
        if ko[k] == en[k] and re.search(r"[A-Za-z]{4,}", placeholder.sub("", en[k])) and not hangul.search(ko[k])
    ]
    # Proper names and units may legitimately stay the same; keep this list short and explicit.
    allowed = {"app.name"}
    assert not [k for k in copied if k not in allowed], f"copied, not translated: {copied}"


def test_translate_fills_placeholders_and_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "ko").mkdir()
    (tmp_path / "en" / "demo.json").write_text(json.dumps({"demo.hi": "Hi {name}", "demo.only_en": "E"}))
    (tmp_path / "ko" / "demo.json").write_text(json.dumps({"demo.hi": "안녕 {name}"}))
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.reload()
    try:
        assert i18n.t("demo.hi", "ko", name="민수") == "안녕 민수"
        assert i18n.t("demo.hi", "en-US", name="Ann") == "Hi Ann"
        assert i18n.t("demo.only_en", "ko") == "E"  # English fallback
        assert i18n.t("demo.nope", "ko") == "demo.nope"  # visible key, never a crash
        assert i18n.t("demo.hi", "ko") == "안녕 {name}"  # missing params: template, no crash
        assert i18n.t("demo.hi", "fr", name="x") == "Hi x"  # unsupported language -> English
    finally:
        monkeypatch.undo()
        i18n.reload()


def test_a_key_outside_its_namespace_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "demo.json").write_text(json.dumps({"other.key": "x"}))
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.reload()
    try:
        with pytest.raises(ValueError, match="must start with 'demo'"):
            i18n.catalog("en")
    finally:
        monkeypatch.undo()
        i18n.reload()


@pytest.mark.parametrize(("tag", "expected"), [("ko-KR", "ko"), ("en_US", "en"), (None, "ko"), ("", "ko"), ("ja", "en")])
def test_normalize_lang(tag: str | None, expected: str) -> None:
    assert i18n.normalize_lang(tag) == expected


def test_user_error_speaks_both_languages() -> None:
    err = UserError("models.error.missing", name="m", command="c")
    assert "m" in str(err) and "install" in str(err).lower()
    assert "설치" in err.message("ko")


# --- untranslated literals in the UI ------------------------------------------------------------
DISPLAY_CALLS = {
    "title", "header", "subheader", "write", "markdown", "caption", "text", "info", "warning", "error",
    "success", "toast", "button", "download_button", "form_submit_button", "link_button", "page_link",
    "selectbox", "multiselect", "radio", "checkbox", "toggle", "text_input", "text_area", "number_input",
    "slider", "select_slider", "file_uploader", "camera_input", "date_input", "color_picker", "expander",
    "tabs", "metric", "popover", "status", "segmented_control", "pills", "spinner", "progress", "Page",
    "set_page_config", "dialog", "form", "chat_input", "feedback", "exception",
}
LABEL_KWARGS = {"label", "help", "placeholder", "title", "caption", "text", "body", "value_label"}
WORDS = re.compile(r"[A-Za-z]{2,}|[\uac00-\ud7a3]")
ALLOWED_LITERALS = {"Dr.DeepChest"}  # the product's name
EXEMPT_MARK = "i18n: ok"


def _literal_text(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.List | ast.Tuple):
        return [s for elt in node.elts for s in _literal_text(elt)]
    return []


def _ui_files() -> list[Path]:
    files: list[Path] = []
    for item in UI_DIRS:
        files.extend([item] if item.is_file() else sorted(item.rglob("*.py")))
    return files


def find_untranslated(source: str, filename: str = "<src>") -> list[str]:
    """Display calls that pass a literal with words in it instead of a translated string."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in DISPLAY_CALLS:
            continue
        if EXEMPT_MARK in lines[node.lineno - 1]:
            continue
        args = list(node.args[:1]) + [kw.value for kw in node.keywords if kw.arg in LABEL_KWARGS]
        if name in {"Page", "page_link"}:  # the first argument is a path, not user-facing
            args = [kw.value for kw in node.keywords if kw.arg in {"title", "label", "help"}]
        for arg in args:
            for text in _literal_text(arg):
                if text.strip() in ALLOWED_LITERALS:
                    continue
                if WORDS.search(text):
                    found.append(f"{filename}:{node.lineno}: {name}({text!r})")
    return found


def test_scanner_catches_literals_and_accepts_translations() -> None:
    bad = 'import streamlit as st\nst.title("Hello")\nst.button(f"Go {x}")\ncol.info("안녕")\nst.tabs(["A tab", x])\n'
    assert len(find_untranslated(bad)) == 4
    good = 'st.title(tr("a.b"))\nst.markdown(f"**{tr(\'a\')}**")\nst.write("---")\nst.metric(tr("x"), 3)\n'
    assert find_untranslated(good) == []


def test_no_page_holds_an_untranslated_literal() -> None:
    problems = [p for f in _ui_files() for p in find_untranslated(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert not problems, "untranslated UI text:\n" + "\n".join(problems)


def _used_keys(source: str) -> list[str]:
    """Literal first arguments of tr()/t()/...Error() calls (docstrings and comments are ignored)."""
    keys = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in {"tr", "t"} or name.endswith("Error"):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if re.fullmatch(r"[a-z_]+\.[a-z0-9_.\-]*[a-z0-9_]", first.value):
                    keys.append(first.value)
    return keys


def test_every_translation_key_used_in_code_exists() -> None:
    """Literal keys passed to tr()/t()/UserError in the code must exist in the catalogue."""
    en = i18n.catalog("en")
    missing = []
    for path in list((ROOT / "core").rglob("*.py")) + _ui_files():
        for key in _used_keys(path.read_text(encoding="utf-8")):
            if key not in en:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert not missing, "keys used in code but missing from locales:\n" + "\n".join(missing)


# --- Korean particles ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        ("제목", "을", "제목을"), ("비밀번호", "을/를", "비밀번호를"), ("닉네임", "는", "닉네임은"),
        ("댓글", "이", "댓글이"), ("모델", "와", "모델과"), ("사과", "과", "사과와"),
        ("서울", "으로", "서울로"), ("집", "로", "집으로"), ("바다", "으로", "바다로"),
        ("학생", "이라고", "학생이라고"), ("의사", "라고", "의사라고"), ("가방", "이나", "가방이나"),
        # numbers are read as Korean numerals
        ("0.60", "는", "0.60은"), ("0.40~0.60", "는", "0.40~0.60은"), ("0.65", "을", "0.65를"),
        ("0.5", "은", "0.5는"), ("3", "을", "3을"), ("2", "이", "2가"), ("#12", "로", "#12로"),
        ("#13", "로", "#13으로"), ("#7", "로", "#7로"), ("20", "은", "20은"), ("100", "이", "100이"),
        ("1000", "은", "1000은"), ("10000", "을", "10000을"), ("1000000000000", "은", "1000000000000는"),
        ("50%", "를", "50%를"),
        # Latin words and acronyms as Koreans read them
        ("CNN", "이", "CNN이"), ("GPU", "을", "GPU를"), ("Qwen2.5-0.5B", "이", "Qwen2.5-0.5B가"),
        ("DenseNet", "은", "DenseNet은"), ("Dr.DeepChest", "은", "Dr.DeepChest는"), ("model", "이", "model이"),
        ("Transformer", "을", "Transformer를"), ("LoRA", "이", "LoRA가"), ("URL", "로", "URL로"),
        # punctuation and brackets at the end
        ("'두피'", "은", "'두피'는"), ("판독 모델(규칙 기반)", "이", "판독 모델(규칙 기반)이"), ("(고정)", "을", "(고정)을"),
    ],
)
def test_particle_follows_the_final_sound(word: str, which: str, expected: str) -> None:
    assert i18n.with_particle(word, which) == expected


def test_particle_in_a_template_and_after_a_number_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ko").mkdir()
    (tmp_path / "ko" / "demo.json").write_text(
        json.dumps({"demo.req": "{field:을} 입력해 주세요.", "demo.num": "{x:.2f:는} 불확실", "demo.spec": "{x:>4}"}),
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.reload()
    try:
        assert i18n.t("demo.req", "ko", field="제목") == "제목을 입력해 주세요."
        assert i18n.t("demo.req", "ko", field="비밀번호") == "비밀번호를 입력해 주세요."
        assert i18n.t("demo.num", "ko", x=0.6) == "0.60은 불확실"
        assert i18n.t("demo.num", "ko", x=0.55) == "0.55는 불확실"
        assert i18n.t("demo.spec", "ko", x="ab") == "  ab"  # an ordinary format spec still works
    finally:
        monkeypatch.undo()
        i18n.reload()


def test_unknown_final_sound_and_unknown_particle() -> None:
    assert i18n.particle("", "을") == "을(를)"  # nothing to go by: both forms, as a last resort
    with pytest.raises(KeyError):
        i18n.particle("제목", "에게")


#: "을(를)"-style pairs, a pair in either order, and "(으)로"-style optional parts.
_PARTICLE_PAIR = re.compile(
    r"(?:을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|와\(과\)|과\(와\)|\(으\)로|\(이\)[라나며고야여랑든면]|"
    r"을/를|이/가|은/는|와/과|과/와)"
)
#: A placeholder followed by a fixed particle whose form depends on the value ("{hi}는").
_FIXED_PARTICLE = re.compile(r"\{[a-z_0-9]+\}(?:을|를|이|가|은|는|과|와|으로|로)(?![\uac00-\ud7a3])")


def test_no_korean_string_has_particle_pairs_or_fixed_particles_after_placeholders() -> None:
    """Korean particles are fitted to the word ("제목을", "{field:을}"), never "을(를)", and a
    placeholder is never followed by a fixed particle that may not fit its value ("{hi}는")."""
    ko = i18n.catalog("ko")
    pairs = sorted(f"{k}: {v}" for k, v in ko.items() if _PARTICLE_PAIR.search(v))
    fixed = sorted(f"{k}: {v}" for k, v in ko.items() if _FIXED_PARTICLE.search(v))
    assert not pairs, "particle pairs in Korean strings:\n" + "\n".join(pairs)
    assert not fixed, "fixed particles after a placeholder:\n" + "\n".join(fixed)
    assert _PARTICLE_PAIR.search("제목을(를) 입력") and _FIXED_PARTICLE.search("{lo}~{hi}는 불확실")
    assert not _FIXED_PARTICLE.search("{field:을} 입력") and not _FIXED_PARTICLE.search("{n}개")


def test_every_particle_spec_in_the_catalogue_is_known() -> None:
    bad = []
    for key, text in i18n.catalog("ko").items():
        for _, name, spec, _ in string.Formatter().parse(text):
            if name and spec:
                tail = spec.rpartition(":")[2]
                try:
                    i18n.particle("제목", tail)
                except KeyError:
                    bad.append(f"{key}: {{{name}:{spec}}}")
    assert not bad, "unknown particle specs:\n" + "\n".join(bad)
