"""Issue 14 on the scalp page, in a real browser: every care-plan reason agrees with the cards. The
photo gives no field of view, so hair loss is "not assessed"; the person asks for hair-loss care,
and the minoxidil item is justified by that wish alone, never by "탈모: 양호"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.i18n import t
from core.scalp.severity import CONDITIONS
from core.scalp.synthetic import encode_jpeg, make_phantom
from tests.browser.conftest import click_until, shot, wait_for_app
from tests.browser.test_scalp_browser import ANSWERS, LANG, _choose

pytestmark = pytest.mark.browser


@pytest.fixture()
def scalp_jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "scalp_phantom.jpg"
    path.write_bytes(encode_jpeg(make_phantom(seed=3, hairs=20, pustules=1).rgb))
    return path


def _cards(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Condition label -> the grade word its card shows ("경증", "평가하지 않음"...)."""
    cards = {}
    metrics = page.get_by_test_id("stMetric")
    for i in range(metrics.count()):
        label = metrics.nth(i).get_by_test_id("stMetricLabel").inner_text().strip()
        value = metrics.nth(i).get_by_test_id("stMetricValue").inner_text().strip()
        cards[label] = value.split("·")[-1].strip()
    return cards


def _reasons(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Rule id -> the reason shown under its advice line."""
    pattern = re.compile(re.escape(t("scalp.plan.why", LANG, reason="REASONX", rule="RULEX"))
                         .replace("REASONX", "(?P<reason>.+)").replace("RULEX", "(?P<rule>[A-Z]-[A-Z-]+)"))
    out = {}
    for caption in page.get_by_test_id("stCaptionContainer").all():
        match = pattern.fullmatch((caption.text_content() or "").strip())
        if match:
            out[match["rule"]] = match["reason"]
    return out


def test_care_plan_reasons_agree_with_the_cards(app_url: str, page, scalp_jpeg: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/scalp")
    wait_for_app(page)
    page.locator("input[type=file]").first.set_input_files(str(scalp_jpeg))
    wait_for_app(page)
    page.get_by_test_id("stImage").first.wait_for(timeout=90_000)
    for field, value in ANSWERS.items():
        _choose(page, field, value)
    for field, value in (("hair_state", "oily"), ("care_wishes", "hair_loss")):
        _choose(page, field, value)
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    click_until(page, page.get_by_role("button", name=t("scalp.q.submit", LANG)),
                "() => document.querySelectorAll('[data-testid=stMetric]').length >= 6", name="scalp-plan-submit")
    wait_for_app(page)
    page.get_by_text(t("scalp.plan.W-BASE.text", LANG)).first.wait_for(timeout=60_000)

    cards = _cards(page)
    hair_loss = t("scalp.condition.hair_loss", LANG)
    assert cards[hair_loss] == t("scalp.grade.not_assessed", LANG), cards
    reasons = _reasons(page)
    shot(page, "scalp-careplan-reasons")
    assert reasons.get("P-MINOXIDIL") == t("scalp.plan.P-MINOXIDIL.reason_answer", LANG), reasons
    grade_words = [t(f"scalp.grade.{g}", LANG) for g in ("0", "1", "2", "3", "none", "not_assessed")]
    for rule, reason in reasons.items():
        for word in (t("scalp.grade.0", LANG), t("scalp.grade.none", LANG), t("scalp.grade.not_assessed", LANG)):
            assert word not in reason, (rule, reason)
        for condition in CONDITIONS:
            label = t(f"scalp.condition.{condition}", LANG)
            for word in grade_words:
                if f"{label} {word}" in reason or f"{label}: {word}" in reason:
                    assert cards[label] == word, (rule, reason, cards)  # the card's own grade
    assert page.get_by_test_id("stException").count() == 0
    assert not page.errors, page.errors
