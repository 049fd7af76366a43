"""Running an LLM writer on a page: the draft streams into a labelled, unchecked area and only the
guard-checked outcome comes back for display (shared by the chest and scalp pages)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.llm.guarded_writer import GuardedOutcome, GuardedWriter
from core.llm.writer import get_writer
from ui.common import lang, tr


def run_guarded(name: str, facts: Any) -> GuardedOutcome:
    """Run writer ``name`` on ``facts`` with its draft shown as "being written, not yet checked";
    return the checked outcome (LLM text when the guard passed, structured text and a note otherwise)."""
    title = tr(f"llm.writer.{name}")
    with st.status(tr("llm.ui.draft", title=title), expanded=True) as box:
        st.caption(tr("llm.ui.loading"))
        area = st.empty()
        draft: list[str] = []

        def on_chunk(chunk: str) -> None:
            draft.append(chunk)
            area.text("".join(draft))

        outcome = GuardedWriter(get_writer(name)).run(facts, lang(), on_chunk=on_chunk)
        done = "llm.ui.draft_done" if outcome.checked else "llm.ui.draft_failed"
        box.update(label=tr(done, title=title), state="complete" if outcome.checked else "error", expanded=False)
    return outcome
