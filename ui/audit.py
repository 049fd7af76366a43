"""The audit trail's download panel (CSV and JSON Lines of every analysis this site recorded)."""

from __future__ import annotations

import streamlit as st

from core import audit
from ui.common import tr


def audit_downloads(feature: str) -> None:
    """An expander saying what the audit trail holds and how many records, with its CSV and JSON Lines
    downloads (built when a button is pressed). ``feature`` names the files and widget keys."""
    with st.expander(tr("export.audit.title")):
        st.caption(tr("export.audit.help"))
        try:
            n = audit.count()
        except OSError:  # the trail cannot be read (an unwritable folder, the shared database down)
            st.warning(tr("export.audit.unavailable"), icon=":material/cloud_off:")
            return
        st.caption(tr("export.audit.count", n=n))
        col_csv, col_jsonl = st.columns(2)
        col_csv.download_button(tr("export.audit.download_csv"), audit.export_csv, file_name=f"{feature}-audit.csv",
                                mime="text/csv", key=f"{feature}_audit_csv")
        col_jsonl.download_button(tr("export.audit.download_jsonl"), audit.export_jsonl, file_name=f"{feature}-audit.jsonl",
                                  mime="application/jsonl", key=f"{feature}_audit_jsonl")
