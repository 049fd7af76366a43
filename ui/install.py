"""Install a model from the app: download with a progress bar, or upload the weights file.

Both paths check the file's size and SHA-256 against the model card before anything is loaded
(:func:`core.models.fetch.install` / :func:`core.models.fetch.install_bytes`); a failed or
interrupted download leaves only its ``.part`` file (resumed next time), never an installed file.
The chest page picks a new model up on its next run: its model cache is keyed by the model in use.
"""

from __future__ import annotations

import time

import streamlit as st

from core.errors import UserError
from core.models.card import ModelCard
from core.models.fetch import install, install_bytes, progress_text
from core.models.registry import install_command, status
from ui.common import lang, show_user_error, tr

UPLOAD_LIMIT_MB = 200


def install_panel(card: ModelCard, key: str) -> bool:
    """Install buttons for ``card`` (download when it has URLs, upload when its checksum is known) and the
    administrators' commands, collapsed. Returns True when the model was installed by this run."""
    done = False
    if card.urls and st.button(tr("models.install.download", size=_size(card)), key=f"{key}_dl", icon=":material/download:"):
        bar = st.progress(0.0, text=tr("models.install.starting"))
        start = time.perf_counter()

        def update(got: int, total: int | None) -> None:
            fig = progress_text(got, total, time.perf_counter() - start)
            bar.progress(fig["fraction"] or 0.0, text=tr("models.install.progress", **{k: str(v) for k, v in fig.items()}))

        try:
            install(card.name, progress=update)
        except UserError as err:
            bar.empty()
            show_user_error(err)
        else:
            bar.progress(1.0, text=tr("models.install.verified"))
            done = True
    if card.sha256 and st.toggle(tr("models.install.from_file"), key=f"{key}_file"):
        upload = st.file_uploader(tr("models.install.upload", file=card.file), key=f"{key}_up",
                                  help=tr("models.install.upload_help"))
        if upload is not None and st.button(tr("models.install.upload_button"), key=f"{key}_upbtn", icon=":material/upload_file:"):
            with st.spinner(tr("models.install.checking")):
                try:
                    install_bytes(card.name, upload.getvalue())
                except UserError as err:
                    show_user_error(err)
                else:
                    done = True
    if done and status(card.name).installed:
        st.success(tr("models.install.done", title=card.localized("title", lang())), icon=":material/check_circle:")
        st.cache_resource.clear()  # pages load the newly installed model on their next run
    with st.expander(tr("models.install.admin")):
        st.caption(tr("models.install.admin_help"))
        st.code(f"python -m core.models fetch {card.name}" if card.urls else install_command(card), language="bash")
        st.code(f"python -m core.models fetch {card.name} --from DIR", language="bash")
    return done


def _size(card: ModelCard) -> str:
    return f"{card.size_bytes / 2**20:.0f} MB" if card.size_bytes else "?"
