"""A person opens /scalp in a real browser, uploads a built scalp photo, answers the required questions
and sees the six severities (hair loss "not assessed" without the field of view) with the heuristic
notice and the care plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.i18n import t
from core.scalp.severity import CONDITIONS
from core.scalp.synthetic import encode_jpeg, make_phantom
from tests.browser.conftest import click_until, shot, wait_for_app

LANG = "ko"  # the browser context's locale is ko-KR
ANSWERS = {"age_group": "30s", "gender": "male", "shampoo_frequency": "daily", "perm_cycle": "never",
           "dye_cycle": "never"}


@pytest.fixture()
def scalp_jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "scalp_phantom.jpg"
    path.write_bytes(encode_jpeg(make_phantom(seed=3, hairs=20, pustules=1).rgb))
    return path


def _choose(page, field: str, value: str) -> None:
    """Open a select box (a combobox named by its label) and pick an option by its label."""
    box = page.get_by_role("combobox", name=t(f"scalp.q.{field}", LANG), exact=True)
    box.evaluate("e => e.scrollIntoView({block: 'center'})")  # room below for the option list
    box.click()
    option = page.get_by_role("option", name=t(f"scalp.q.{field}.{value}", LANG), exact=True)
    option.wait_for()
    option.dispatch_event("click")


def test_upload_answer_and_see_six_severities(app_url: str, page, scalp_jpeg: Path) -> None:
    page.goto(app_url + "/scalp")
    wait_for_app(page)
    page.get_by_role("heading", name=t("app.page.scalp", LANG)).first.wait_for()
    page.locator("input[type=file]").first.set_input_files(str(scalp_jpeg))
    wait_for_app(page)
    page.get_by_test_id("stImage").first.wait_for(timeout=90_000)  # the preview

    for field, value in ANSWERS.items():
        _choose(page, field, value)
    _choose(page, "hair_state", "oily")
    page.keyboard.press("Escape")
    click_until(page, page.get_by_role("button", name=t("scalp.q.submit", LANG)),
                "() => document.querySelectorAll('[data-testid=stMetric]').length >= 6", name="scalp-submit")
    wait_for_app(page)
    metrics = page.get_by_test_id("stMetric")
    labels = {metrics.nth(i).get_by_test_id("stMetricLabel").inner_text().strip() for i in range(metrics.count())}
    assert {t(f"scalp.condition.{c}", LANG) for c in CONDITIONS} <= labels
    grade_words = [t(f"scalp.grade.{g}", LANG) for g in range(4)]
    for i in range(metrics.count()):
        label = metrics.nth(i).get_by_test_id("stMetricLabel").inner_text().strip()
        value = metrics.nth(i).get_by_test_id("stMetricValue").inner_text()
        if label == t("scalp.condition.hair_loss", LANG):  # no field of view given: said, not guessed
            assert value.strip() == t("scalp.grade.not_assessed", LANG), value
        else:
            assert any(w in value for w in grade_words), value
    not_assessed = t("scalp.result.not_assessed", LANG, conditions=t("scalp.condition.hair_loss", LANG))
    assert page.get_by_text(not_assessed).count() == 1
    page.get_by_text(t("scalp.plan.W-BASE.text", LANG)).first.wait_for(timeout=60_000)  # the care plan
    assert page.get_by_text(t("scalp.heuristic.notice", LANG)).count() == 1
    assert page.get_by_test_id("stException").count() == 0
    metrics.first.scroll_into_view_if_needed()
    shot(page, "scalp_result_ko")
    assert not page.errors, page.errors
