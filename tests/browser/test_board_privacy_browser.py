"""Issue 14: a post or comment with a phone number, a 주민등록번호 or an e-mail address is refused
in a real browser with a translated message that names what was found and does not repeat it;
the typed text stays in the form, and once the number is removed the post is published."""

from __future__ import annotations

import pytest

from core.i18n import t
from tests.browser.conftest import click_until, shot, wait_for_app
from tests.browser.test_board_browser import LANG, PUBLISHED_JS, _form, _open_expander

pytestmark = pytest.mark.browser

PHONE = "010-1234-5678"
RRN = "900101-1234567"
ERROR_JS = "t => [...document.querySelectorAll(\"[data-testid='stAlertContentError']\")].some(e => e.textContent.includes(t))"


def _alerts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.text_content() or "" for a in page.get_by_test_id("stAlert").all()]


def test_personal_data_is_refused_until_removed(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/community")
    wait_for_app(page)
    _open_expander(page, "board.write.open")
    form = _form(page, "board.write.submit")
    title, body = "두피 상담 부탁드려요", f"제 번호 {PHONE} 이고 주민번호는 {RRN} 입니다. 연락 주세요."
    form.get_by_label(t("board.field.title", LANG), exact=True).fill(title)
    form.get_by_label(t("board.field.body", LANG), exact=True).fill(body)
    form.get_by_label(t("board.field.nickname", LANG), exact=True).fill("상담자")
    form.get_by_label(t("board.field.password", LANG), exact=True).fill("privacy-pw")
    submit = form.get_by_role("button", name=t("board.write.submit", LANG), exact=True)
    kinds = ", ".join(t(f"board.personal.{k}", LANG) for k in ("rrn", "phone"))
    expected = t("board.error.personal_data", LANG, field=t("board.fieldname.body", LANG), kinds=kinds)
    click_until(page, submit, ERROR_JS, expected, name="board-privacy-refused")
    wait_for_app(page)
    shot(page, "board-privacy-refused")
    alerts = _alerts(page)
    assert any(expected in a for a in alerts), alerts
    assert not any(PHONE in a or RRN in a or "1234" in a for a in alerts), "the refusal repeats the number"
    # nothing was published, and what the person typed is still there to edit
    assert page.locator("[class*='st-key-board_title_h_']").count() == 0
    form = _form(page, "board.write.submit")
    body_box = form.get_by_label(t("board.field.body", LANG), exact=True)
    assert body_box.input_value() == body

    # removing the numbers lets the post through
    body_box.fill("연락은 이 글의 댓글로 부탁드려요.")
    form.get_by_label(t("board.field.password", LANG), exact=True).fill("privacy-pw")
    click_until(page, form.get_by_role("button", name=t("board.write.submit", LANG), exact=True), PUBLISHED_JS, title,
                name="board-privacy-published")
    wait_for_app(page)

    # a comment with an e-mail address is refused too
    comment_form = _form(page, "board.comment.submit")
    comment_form.get_by_label(t("board.comment.body", LANG), exact=True).fill("메일 주세요: hong@example.com")
    comment_form.get_by_label(t("board.field.password", LANG), exact=True).fill("comment-pw")
    expected = t("board.error.personal_data", LANG, field=t("board.fieldname.comment", LANG),
                 kinds=t("board.personal.email", LANG))
    click_until(page, comment_form.get_by_role("button", name=t("board.comment.submit", LANG), exact=True), ERROR_JS,
                expected, name="board-privacy-comment")
    wait_for_app(page)
    alerts = _alerts(page)
    assert any(expected in a for a in alerts) and not any("hong@" in a for a in alerts), alerts
    assert not any("hong@example.com" in (x.text_content() or "") for x in page.get_by_test_id("stText").all())
    assert page.errors == []
