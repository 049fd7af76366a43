"""Running an LLM writer on a page: the draft streams into a labelled, unchecked area and only the
guard-checked outcome comes back for display (shared by the chest and scalp pages); writer choice
labels, why a writer cannot run, and the notes shown with a report."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.i18n import t
from core.llm.guarded_writer import GuardedOutcome, GuardedWriter
from core.llm.report import ReportNote, ReportOutcome
from core.llm.writer import WriterStatus, get_writer
from ui.common import lang, tr

Chunk = Callable[[str], None]
R = TypeVar("R")
NOTE_ICONS = {"machine_written": ":material/smart_toy:", "replaced": ":material/shield:",
              "time_limit": ":material/timer:", "length_limit": ":material/short_text:"}


def run_guarded(name: str, facts: Any) -> GuardedOutcome:
    """Run writer ``name`` on ``facts`` with its draft shown as "being written, not yet checked";
    return the checked outcome (LLM text when the guard passed, structured text and a note otherwise)."""
    return draft_box(name, lambda on_chunk: GuardedWriter(get_writer(name)).run(facts, lang(), on_chunk=on_chunk),
                     lambda outcome: outcome.checked)


def draft_box(name: str, run: Callable[[Chunk], R], checked: Callable[[R], bool]) -> R:
    """Call ``run(on_chunk)`` while LLM writer ``name``'s draft (each chunk given to ``on_chunk``) shows in
    a status box labelled "being written, not yet checked", closed as passed or failed by ``checked``
    of what ``run`` returns. Raises whatever ``run`` raises."""
    title = tr(f"llm.writer.{name}")
    with st.status(tr("llm.ui.draft", title=title), expanded=True) as box:
        st.caption(tr("llm.ui.loading"))
        area = st.empty()
        draft: list[str] = []

        def on_chunk(chunk: str) -> None:
            draft.append(chunk)
            area.text("".join(draft))

        result = run(on_chunk)
        ok = checked(result)
        box.update(label=tr("llm.ui.draft_done" if ok else "llm.ui.draft_failed", title=title),
                   state="complete" if ok else "error", expanded=False)
    return result


def stream_report(name: str, llm: bool, write: Callable[..., ReportOutcome]) -> ReportOutcome:
    """Call ``write(...)``: an LLM's draft is shown as it streams in :func:`draft_box`; a template's text
    is not streamed (it is ready within milliseconds, and each streamed chunk would cost every browser a
    re-render of the growing text: 9 per chest report), so the page shows it once with
    :func:`show_report`. Raises whatever ``write`` raises."""
    if llm:
        return draft_box(name, lambda on_chunk: write(on_draft=on_chunk), lambda outcome: outcome.writer_used == name)
    return write()


def report_markdown(text: str) -> str:
    """Report text as Markdown that shows it line for line: list/heading markers escaped, every line
    break kept."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^(\s*)([-*+#>])", r"\1\\\2", line)
        line = re.sub(r"^(\s*\d+)\.", r"\1\\.", line)
        lines.append(line)
    return "  \n".join(lines)


def show_notes(notes: tuple[ReportNote, ...]) -> None:
    """Show a report's notes (machine-written, why the draft was replaced, time and length limits)."""
    for note in notes:
        (st.info if note.level == "info" else st.warning)(note.text, icon=NOTE_ICONS[note.kind])


def show_report(outcome: ReportOutcome) -> None:
    """Show a written report: its notes, then its text line for line."""
    show_notes(outcome.notes)
    st.markdown(report_markdown(outcome.text))


def writer_label(status: WriterStatus, code: str) -> str:
    """A writer's name in a choice list, marked when it cannot run now."""
    title = t(f"llm.writer.{status.name}", code)
    return title if status.available else t("llm.ui.unavailable_option", code, title=title)


def show_unavailable(status: WriterStatus) -> None:
    """Why the chosen writer cannot run and how to set it up (the structured report is used)."""
    reason = status.reason.message(lang()) if status.reason else ""
    st.warning(tr("llm.ui.unavailable", title=tr(f"llm.writer.{status.name}"), reason=reason), icon=":material/deployed_code:")
    if status.command:
        st.caption(tr("llm.ui.install"))
        st.code(status.command, language="bash")
    st.caption(tr("llm.ui.fallback_structured"))
