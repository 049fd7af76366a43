"""Models & data: model cards, install state, metrics, intended use, licences; data folders."""

from __future__ import annotations

import json

import streamlit as st

from core.chest.cards import in_use, mean_line, pair_lines, per_finding_rows, training_data
from core.llm import writer_names
from core.llm.hf import gemma_status
from core.llm.writer import writer_status
from core.models import list_cards, status
from core.models.registry import get_card
from core.settings import get_settings
from ui.common import lang, tr
from ui.install import install_panel

st.title(tr("models.title"))
st.write(tr("models.intro"))

# grouped as the pages use them: chest, then shoulder, then scalp (by name within a task)
TASK_ORDER = ("chest-multilabel", "chest-screening", "reference-stats", "llm-adapter", "shoulder-osteoporosis",
              "shoulder-encoder", "scalp-severity")
cards = sorted(list_cards(), key=lambda c: (TASK_ORDER.index(c.task) if c.task in TASK_ORDER else len(TASK_ORDER), c.name))
states = {card.name: status(card.name) for card in cards}
installed = sum(s.installed for s in states.values())
st.metric(tr("models.installed_metric"), tr("models.summary", installed=installed, total=len(cards)))

st.subheader(tr("models.in_use.title"))
for page, name in in_use().items():
    title = get_card(name).localized("title", lang()) if name else tr("models.in_use.none")
    st.markdown(f"**{tr(f'models.in_use.{page}')}**: {title}")

ICONS = {"installed": ":material/check_circle:", "missing": ":material/radio_button_unchecked:", "corrupt": ":material/error:", "unpinned": ":material/help:"}
for card in cards:
    st_ = states[card.name]
    label = f"{card.localized('title', lang())} · {tr('models.task.' + card.task)} · {tr('models.state.' + st_.state)}"
    with st.expander(label, expanded=False, icon=ICONS[st_.state]):
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{tr('models.field.task')}**")
            st.text(tr("models.task." + card.task))
            st.markdown(f"**{tr('models.field.version')}**")
            st.text(card.version)
            st.markdown(f"**{tr('models.field.architecture')}**")
            st.text(card.architecture)
            st.markdown(f"**{tr('models.field.licence')}**")
            st.text(card.licence)
            st.markdown(f"**{tr('models.field.file')}**")
            st.code(card.file, language=None)
            if st_.sha256 and st_.pinned_locally:
                st.markdown(f"**{tr('models.field.sha256_pinned')}**")
                st.code(st_.sha256, language=None)
            else:
                st.markdown(f"**{tr('models.field.sha256')}**")
                st.code(card.sha256 or tr("models.field.sha256_unknown"), language=None)
            if st_.path:
                st.markdown(f"**{tr('models.field.path')}**")
                st.code(str(st_.path), language=None)
        with right:
            st.markdown(f"**{tr('models.field.intended_use')}**")
            st.write(card.localized("intended_use", lang()))
            limitations = card.localized("limitations", lang())
            if limitations:
                st.markdown(f"**{tr('models.field.limitations')}**")
                for item in limitations:
                    st.markdown(f"- {item}")
            if card.labels:
                st.markdown(f"**{tr('models.field.labels')}**")
                st.text(", ".join(card.labels))
            if card.input:
                st.markdown(f"**{tr('models.field.input')}**")
                st.json(card.input, expanded=False)
            if training_data(card):
                st.markdown(f"**{tr('models.training.data')}**")
                st.write(training_data(card))
            for line in pair_lines(card):
                st.markdown(f"- {tr('models.per_finding.pairs')} · {line}")
            if card.metrics:
                st.markdown(f"**{tr('models.field.metrics')}**")
                st.json(card.metrics, expanded=False)
            if card.references:
                st.markdown(f"**{tr('models.field.references')}**")
                for ref in card.references:
                    st.markdown(f"- {ref}")
        rows = per_finding_rows(card, lang())
        if rows:
            st.markdown(f"**{tr('models.per_finding.title')}**")
            st.caption(mean_line(card, lang()))
            st.dataframe(rows, hide_index=True, width="stretch")
        if not st_.installed and not card.bundled:
            if card.urls:
                st.markdown(f"**{tr('models.field.source')}**")
                st.code("\n".join(card.urls), language=None)
            elif not card.sha256:
                st.caption(tr("models.no_source"))
            install_panel(card, key=f"install_{card.name}")
        st.download_button(
            tr("models.download_card"), json.dumps(card.to_dict(), indent=2, ensure_ascii=False), file_name=f"{card.name}.json",
            key=f"card_{card.name}", mime="application/json",
        )

settings = get_settings()
st.subheader(tr("llm.models.title"))
st.caption(tr("llm.models.intro"))
for name in writer_names():
    w = writer_status(name)
    if w.kind != "llm":
        continue
    if name == "gemma":
        g = gemma_status()
        state = "converted" if g.converted else ("installed" if g.installed else "missing")
    else:
        state = "ready" if w.available else "missing"
    icon = ICONS["installed"] if state in ("ready", "converted") else (ICONS["missing"] if state == "missing" else ":material/sync:")
    with st.expander(f"{tr(f'llm.writer.{name}')} · {tr(f'llm.models.state.{state}')}", expanded=False, icon=icon):
        if name == "transformers":
            st.markdown(f"**{tr('llm.models.model')}**")
            st.code(settings.llm_path or tr("llm.models.not_set"), language=None)
            st.markdown(f"**{tr('llm.models.adapter')}**")
            st.code(settings.llm_adapter or tr("llm.models.not_set"), language=None)
        if name == "gemma":
            st.markdown(f"**{tr('llm.models.folder')}**")
            if g.installed and not g.converted:
                st.caption(tr("llm.models.not_converted"))
            st.code(str(g.folder), language=None)
            st.markdown(f"**{tr('llm.models.licence_title')}**")
            st.info(tr("llm.models.gemma_licence"))
            if g.licence_files:
                st.caption(tr("llm.models.licence_files"))
                st.code("\n".join(str(f) for f in g.licence_files), language=None)
        if not w.available and w.reason is not None:
            st.warning(w.reason.message(lang()))
            if w.command:
                st.markdown(f"**{tr('models.install_cmd')}**")
                st.code(w.command, language="bash")

st.subheader(tr("models.data.title"))
st.markdown(f"**{tr('models.data.samples')}**")
st.code(str(settings.samples_dir) if settings.samples_dir else tr("models.data.absent"), language=None)
st.markdown(f"**{tr('models.data.weights')}**")
st.code(str(settings.weights_dir), language=None)
st.markdown(f"**{tr('models.data.app')}**")
st.code(str(settings.data_dir), language=None)
st.markdown(f"**{tr('models.data.site_cards')}**")
st.code(str(settings.site_cards_dir) if settings.site_cards_dir else tr("models.data.site_cards_unset"), language=None)
