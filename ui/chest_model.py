"""The chest page's model state: which model analyses, or how to install one, and any installed model
held back because its own input check has no fitted reference."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.chest import loader as chest_loader
from core.errors import MissingModelError
from core.models.registry import get_card
from ui.common import show_user_error, tr
from ui.install import install_panel


def show_model_state(model: Any, error: MissingModelError | None, avail: chest_loader.Availability) -> None:
    """Say which model analyses (the offline model with its held-out figures and an upgrade panel), that
    none is installed (with the install panel), or that a random-weight test model is in use; then warn
    about every installed model held back (``avail.held_back``) with the command that enables it."""
    xrv = chest_loader.XRV_NAME
    if model is None:
        if isinstance(error, chest_loader.ModelLoadError):
            show_user_error(error)
        st.warning(tr("chest.model.missing_page", name=xrv), icon=":material/deployed_code:")
        install_panel(get_card(xrv), key="chest_install")
        st.caption(tr("chest.model.gate_only"))
    elif model.is_test_model:
        st.error(tr("chest.test_model"), icon=":material/science:")
    else:
        st.caption(tr("chest.model.using", title=model.title, version=model.version, sha=model.sha256[:12]))
        if model.name != xrv:
            starter = chest_loader.starter_summary(model.name)
            st.info(tr("chest.model.starter_notice", **starter), icon=":material/explore:")
            if xrv not in dict(avail.held_back):  # installed already: the warning below says what it needs
                with st.expander(tr("chest.model.starter_upgrade")):
                    install_panel(get_card(xrv), key="chest_upgrade")
    for held_name, fit_command in avail.held_back:  # installed, but its own input check is not fitted: not used
        st.warning(tr("chest.model.held_back", name=held_name, command=fit_command), icon=":material/lock:")
