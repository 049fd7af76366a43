"""The runtime side of the learned shoulder model: a checkpoint is loaded, predicts and explains
itself without the training code; a wrong file is refused. Tiny network, about a second on CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.settings import PROJECT_ROOT
from core.shoulder.inference import cam_picture, load_classifier, predict, resize_square
from core.shoulder.net import LABELS, EncoderConfig, ShoulderClassifier
from core.shoulder.phantom import PhantomSpec, render_phantom

CFG = EncoderConfig(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2)


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "shoulder.pt"
    torch.save({"kind": "shoulder-classifier", "config": CFG.to_dict(), "labels": list(LABELS),
                "state_dict": ShoulderClassifier(CFG).state_dict(), "thresholds": {"osteoporosis": 0.4}}, path)
    return path


def test_a_checkpoint_predicts_three_probabilities_and_a_cam(checkpoint: Path) -> None:
    model, thresholds = load_classifier(checkpoint)
    assert thresholds == {"osteoporosis": 0.4} and not model.training
    gray = render_phantom(PhantomSpec()).image
    out = predict(model, gray)
    assert list(out["probs"]) == list(LABELS)
    assert sum(out["probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert out["cam"].shape == (32, 32) and 0.0 <= out["cam"].min() <= out["cam"].max() <= 1.0
    assert "cam" not in predict(model, gray, with_cam=False)
    picture = cam_picture(gray, out["cam"])
    assert picture.shape == (32, 32, 3) and picture.dtype == np.uint8
    # the heat map changes the picture: it is not the plain resized radiograph
    plain = np.repeat((np.clip(resize_square(gray, 32), 0, 1) * 255)[..., None], 3, axis=2)
    assert np.abs(picture.astype(float) - plain).mean() > 5


def test_an_encoder_checkpoint_is_not_taken_for_a_classifier(tmp_path: Path) -> None:
    path = tmp_path / "encoder.pt"
    torch.save({"kind": "mae-encoder", "config": CFG.to_dict(), "state_dict": {}}, path)
    with pytest.raises(ValueError, match="not a shoulder classifier"):
        load_classifier(path)


def test_the_runtime_path_never_imports_the_training_code(checkpoint: Path) -> None:
    code = ("import sys\nfrom pathlib import Path\nimport numpy as np\n"
            "from core.shoulder import model\n"
            f"m, _ = model.load(Path({str(checkpoint)!r}))\n"
            "out = model.predict(m, np.zeros((64, 64), np.float32))\n"
            "model.cam_picture(np.zeros((64, 64), np.float32), out['cam'])\n"
            "print(sorted(n for n in sys.modules if n.startswith('core.shoulder')))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    loaded = done.stdout
    assert "core.shoulder.inference" in loaded
    assert "core.shoulder.train" not in loaded and "core.shoulder.dataset" not in loaded
