"""Weights registry: one model card per model, install status, fetch/verify/offline install.

Cards live in ``weights/cards/<name>.json``. Bundled weights (committed, small) sit under
``weights/``; downloaded or offline-installed ones under ``settings.weights_dir``.
"""

from core.models.card import ModelCard
from core.models.registry import (
    ModelStatus,
    get_card,
    installed_path,
    list_cards,
    require,
    status,
)

__all__ = ["ModelCard", "ModelStatus", "get_card", "installed_path", "list_cards", "require", "status"]
