"""The project's own offline chest models ("starter models"), bundled in ``weights/``.

They exist so that a fresh install with no way to download torchxrayvision's weights still does
real work. Each is a :class:`~core.chest.model.PooledLinearNet` (EfficientNet-Lite0 trunk from
ImageNet + a linear head trained here on permissively licensed radiographs, see
``docs/starter_models.md``), so one forward pass gives calibrated probabilities, pooled features
and the class activation map of every label (:class:`~core.chest.model.PooledLinearChestModel`).

Calibration (as torchxrayvision's ``op_norm``): for each label the probability threshold that
maximised Youden's J (sensitivity + specificity - 1) on held-in data the head never trained on
(out-of-fold predictions on the training + validation patients) is stored in the weights file
(``calibration.op_threshs``) and in the card (``input.op_threshs``). ``op_norm`` maps that
threshold to 0.5, linearly on each side, so ``probability >= 0.5`` is the label's operating point
and the output stays monotone in the raw score (AUC and the CAM are unchanged).

Usage::

    from core.chest.starter import load_starter, STARTER_MULTILABEL
    model = load_starter(STARTER_MULTILABEL)     # raises MissingModelError if absent or corrupt
    pred = model.predict(image)                  # ChestPrediction: probabilities, features, cams
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import torch

from core.chest.model import Calibration, ModelIdentity, PooledLinearChestModel, PooledLinearNet
from core.chest.nets import InputSpec, build
from core.models.card import ModelCard
from core.models.registry import get_card, list_cards, require
from core.settings import Settings

#: Card names of the bundled starter models.
STARTER_MULTILABEL = "starter-nih14-efficientnet-lite0"
STARTER_SCREENING = "starter-screening-efficientnet-lite0"
#: Value of the cards' ``loader`` field that names this module.
LOADER = "core.chest.starter"
OP_KEY = "calibration.op_threshs"


class StarterChestModel(PooledLinearChestModel):
    """A bundled starter model: a :class:`PooledLinearNet` + op-point calibration + its input spec.

    Attributes:
        card: the model card it was loaded from (task, labels, metrics, limitations).
        task: ``chest-multilabel`` (14 NIH findings) or ``chest-screening`` (Normal / Pneumonia /
            COVID-19; decide by the arg-max of ``probabilities``).
    """

    def __init__(self, net: PooledLinearNet, op_threshs: Sequence[float], card: ModelCard) -> None:
        spec = InputSpec.from_dict(card.input)
        identity = identity_of(card)
        super().__init__(net, Calibration(list(op_threshs)), card.labels, identity, preprocess=spec.preprocess,
                         views=card.input.get("tta_views"))
        self.card = card
        self.task = card.task
        self.spec = spec


def identity_of(card: ModelCard) -> ModelIdentity:
    """The model's identity with the card's per-label uncertain bands and reliability, when given.

    Raises:
        ValueError: a per-label list in the card does not match the labels.
    """
    bands = card.input.get("uncertain_band")
    reported = card.input.get("reported")
    for name, values in (("uncertain_band", bands), ("reported", reported)):
        if values is not None and len(values) != len(card.labels):
            raise ValueError(f"{card.name}: input.{name} has {len(values)} values for {len(card.labels)} labels")
    return ModelIdentity(name=card.name, title=card.title, version=card.version, sha256=card.sha256 or "", titles=card.titles(),
                         bands=None if bands is None else tuple(float(b) for b in bands),
                         reported=None if reported is None else tuple(bool(r) for r in reported),
                         features_sha256=str(card.input.get("features_sha256") or ""))


def features_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the trunk whose pooled maps are a starter model's ``features``: the tensors under
    ``features.`` (a single network) or ``features.members.0.`` (an ensemble's first member), keys
    without that prefix, values as stored (fp16). Equal digests mean equal features for any input.
    """
    prefix = "features.members.0.0." if any(k.startswith("features.members.") for k in tensors) else "features."
    digest = hashlib.sha256()
    for key in sorted(k for k in tensors if k.startswith(prefix)):
        value = tensors[key].detach().cpu().contiguous()
        digest.update(key[len(prefix):].encode())
        digest.update(str(value.dtype).encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())  # the bytes as stored (fp16 too)
    return digest.hexdigest()


def starter_names(task: str | None = None) -> list[str]:
    """Names of the starter cards (optionally of one task), whatever their install state."""
    return [c.name for c in list_cards(task) if c.loader == LOADER]


def build_from_tensors(card: ModelCard, tensors: dict[str, torch.Tensor]) -> StarterChestModel:
    """Build the network named by ``card.architecture`` and load ``tensors`` (fp16 ok) into it.

    Raises:
        KeyError / RuntimeError: the tensors do not fit the architecture.
    """
    net = build(card.architecture, len(card.labels), pretrained=False)
    state = {k: v.float() for k, v in tensors.items() if k != OP_KEY}
    net.load_state_dict(state, strict=True)
    op = tensors[OP_KEY].float().tolist() if OP_KEY in tensors else list(card.input["op_threshs"])
    return StarterChestModel(net.eval(), op, card)


def load_starter(name: str = STARTER_MULTILABEL, settings: Settings | None = None) -> StarterChestModel:
    """Load a bundled starter model after verifying its checksum through the registry.

    Raises:
        MissingModelError: the file is missing, corrupt (checksum/size) or unverified.
        KeyError: no card called ``name``. ValueError: the card is not a starter card.
    """
    card = get_card(name)
    if card.loader != LOADER:
        raise ValueError(f"{name} is not a starter model (loader {card.loader!r})")
    path = require(name, settings)
    return _load_cached(str(path), card.sha256 or "", name)


@lru_cache(maxsize=4)
def _load_cached(path: str, sha256: str, name: str) -> StarterChestModel:
    from safetensors.torch import load_file

    return build_from_tensors(get_card(name), load_file(path))
