"""Does self-supervised pre-training on our own radiographs help the NIH 14-finding starter model?

Same split, same protocol as the shipped probe (``core.training.experiment.run_probe``): frozen
features, one balanced logistic regression per finding on standardised features, ``C`` chosen by
5-fold CV on train+val, refitted on train+val, scored once on the 104 held-out patients (mean AUC
with a bootstrap 95 % interval). Feature sets:

* ``effnet``: the shipped ImageNet EfficientNet-Lite0 multi-stage features (744-d);
* ``mae``: the ViT encoder pre-trained here as a masked autoencoder (``docs/shoulder.md``: 10 min
  on the 414 NIH radiographs, labels unused; ``weights/downloads/shoulder-mae-vit-encoder.pt``,
  git-ignored). It has seen the held-out images without their labels, which can only flatter it;
* ``vit_random``: the same ViT at random initialisation (what the pre-training adds);
* ``effnet+mae``: both, concatenated.

Needs ``../shared/data`` and the pre-trained encoder; says why and exits 0 when either is missing.

    python -m bench research ssl
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> int:
    import torch

    from bench import shared_nih_task
    from core.chest.nets import build, default_input
    from core.settings import get_settings
    from core.shoulder.net import build_encoder
    from core.shoulder.train import encode, load_encoder_checkpoint
    from core.training.experiment import CS, PROBE_ARCH, cached_features, score_probe
    from core.training.images import load_squares

    task = shared_nih_task()
    if task is None:
        return 0
    settings = get_settings()
    # produced locally, never shipped, so it has no pinned checksum: read it from its default place
    encoder_path = settings.weights_dir / "shoulder-mae-vit-encoder.pt"
    if not encoder_path.is_file():
        print(f"skipped: no MAE encoder at {encoder_path} (python -m core.shoulder.train pretrain ..., docs/shoulder.md)")
        return 0
    cache = settings.weights_dir / "training-cache"
    trval = task.trval
    y_tv, y_te = trval.targets(), task.test.targets()
    spec = default_input(PROBE_ARCH)
    net = build(PROBE_ARCH, len(task.labels), pretrained=True)
    eff_tv, eff_te = cached_features(net, trval, spec, cache), cached_features(net, task.test, spec, cache)
    sq_tv = load_squares(trval, spec.size, cache) / 255.0
    sq_te = load_squares(task.test, spec.size, cache) / 255.0
    cfg, state = load_encoder_checkpoint(encoder_path)
    torch.manual_seed(0)
    vit_random = build_encoder(cfg)
    vit_mae = build_encoder(cfg)
    vit_mae.load_state_dict(state)
    mae_tv, mae_te = encode(vit_mae, sq_tv, cfg.img_size), encode(vit_mae, sq_te, cfg.img_size)
    rnd_tv, rnd_te = encode(vit_random, sq_tv, cfg.img_size), encode(vit_random, sq_te, cfg.img_size)
    sets = {
        "effnet": (eff_tv, eff_te),
        "mae": (mae_tv, mae_te),
        "vit_random": (rnd_tv, rnd_te),
        "effnet+mae": (np.hstack([eff_tv, mae_tv]), np.hstack([eff_te, mae_te])),
    }
    print(f"NIH 14 findings: {len(trval)} train+val images, {len(task.test)} held-out; C grid {CS}")
    for name, (x_tv, x_te) in sets.items():
        print(f"{name:11s} {x_tv.shape[1]:4d}-d  {score_probe(x_tv, y_tv, x_te, y_te).line()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
