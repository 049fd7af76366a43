"""Demo-mode widget: pick a sample case and load it as if it had been uploaded."""

from __future__ import annotations

import streamlit as st

from core.i18n import t
from core.samples import Sample, list_samples
from ui.common import lang, tr


def sample_label(sample: Sample, code: str | None = None) -> str:
    """What the picker shows: the known labels in ``code`` (default: the page's language), the file,
    and what to expect."""
    code = code or lang()
    described = sample.describe(code)
    parts = [described or sample.name]
    if described:
        parts.append(sample.path.name)
    if sample.expect:
        parts.append(t(f"app.demo.expect.{sample.expect}", code))
    return " · ".join(parts)


def sample_picker(page: str, key: str) -> tuple[str, bytes] | None:
    """Show the demo-mode picker for ``page``; return (file name, bytes) of a loaded sample.

    The loaded sample stays in ``st.session_state[key]`` until another is loaded, so it
    survives reruns. Returns ``None`` when nothing was loaded.
    """
    samples: list[Sample] = list_samples(page)
    with st.expander(tr("app.demo.title"), icon=":material/slideshow:"):
        st.caption(tr("app.demo.help"))
        if not samples:
            st.caption(tr("app.demo.none"))
            return st.session_state.get(key)
        code = lang()
        pick = st.selectbox(tr("app.demo.pick"), range(len(samples)), format_func=lambda i, _c=code: sample_label(samples[i], _c),
                            key=f"{key}_choice")
        if st.button(tr("app.demo.load"), key=f"{key}_button"):
            sample = samples[int(pick)]
            try:
                st.session_state[key] = (sample.path.name, sample.read_bytes())
            except (OSError, ValueError):
                st.session_state.pop(key, None)
            else:
                st.toast(tr("app.demo.loaded", name=sample.name))
    return st.session_state.get(key)
