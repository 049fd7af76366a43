"""The chest model interface on real radiographs: xrv's exact preprocessing and calibration, all
probabilities for every image, determinism, MONOCHROME1 = MONOCHROME2, and the registry loader."""

from __future__ import annotations

import hashlib
import io
import pathlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.chest.labels import XRV_LABELS
from core.chest.preprocess import CropBox, xrv_array

SAMPLES = [
    "cxr/samples/00000001_000.png",     # NIH, 8-bit grey PNG
    "cxr/samples/16747_3_1.jpg",        # PadChest-style JPEG, 3 components, non-square
    "cxr/samples/h0001.png",            # TBX11K RGB PNG with grey content
    "cxr/covid/images/figure1_COVID-00001.jpg",
    "dicom/siim_pneumothorax_sample.dcm",
]


def _xrv_reference_array(path: Path) -> np.ndarray:
    """torchxrayvision's README pipeline, verbatim."""
    import skimage.io
    import torchvision
    import torchxrayvision as xrv

    img = skimage.io.imread(path)
    img = xrv.datasets.normalize(img, 255)
    if img.ndim == 3:
        img = img.mean(2)
    transform = torchvision.transforms.Compose([xrv.datasets.XRayCenterCrop(), xrv.datasets.XRayResizer(224)])
    return transform(img[None, ...])


@pytest.mark.parametrize("rel", SAMPLES[:4])
def test_preprocessing_equals_torchxrayvision_readme_pipeline(rel: str, shared_data: Path, load) -> None:
    ours, crop = xrv_array(load(rel).pixels)
    ref = _xrv_reference_array(shared_data / rel)
    assert ours.shape == ref.shape == (1, 224, 224)
    assert np.abs(ours - ref).max() < 1e-2  # float rounding only, on a [-1024, 1024] scale
    assert ours.min() >= -1024.5 and ours.max() <= 1024.5
    img = load(rel)
    assert crop == CropBox.centre(img.height, img.width)


def test_probabilities_equal_xrv_densenet_forward_with_op_norm(test_model, load) -> None:
    """Same weights in xrv's own DenseNet (with op_threshs): our one-pass outputs match its forward."""
    import torchxrayvision as xrv

    from core.chest.model import xrv_op_threshs

    ref = xrv.models.DenseNet(weights=None, op_threshs=torch.tensor(xrv_op_threshs())).eval()
    state = {k: v for k, v in ref.state_dict().items() if k != "op_threshs"}
    ours_state = {f"features.{k}": v for k, v in test_model.net.features.state_dict().items()}
    ours_state.update({f"classifier.{k}": v for k, v in test_model.net.classifier.state_dict().items()})
    assert set(state) == set(ours_state)
    ref.load_state_dict({**ours_state, "op_threshs": ref.op_threshs}, strict=False)
    img = load(SAMPLES[0])
    arr, _ = xrv_array(img.pixels)
    with torch.inference_mode():
        expected = ref(torch.from_numpy(arr[None]))[0].numpy()
    pred = test_model.predict(img)
    np.testing.assert_allclose(pred.probabilities, expected, atol=1e-6)
    assert pred.labels == XRV_LABELS


@pytest.mark.parametrize("rel", SAMPLES)
def test_prediction_has_every_output_and_is_repeatable(rel: str, test_model, load) -> None:
    img = load(rel)
    first = test_model.predict(img)
    second = test_model.predict(img)
    assert first.probabilities.shape == (18,) and first.features.shape == (1024,) and first.cams.shape == (18, 7, 7)
    assert np.all((first.probabilities >= 0) & (first.probabilities <= 1)) and np.isfinite(first.probabilities).all()
    assert np.array_equal(first.probabilities, second.probabilities)
    assert np.array_equal(first.cams, second.cams) and np.array_equal(first.features, second.features)
    assert not first.probabilities.flags.writeable
    assert first.model.is_test_model and first.model.sha256 == test_model.sha256


def test_monochrome1_and_monochrome2_dicoms_give_the_same_result(test_model, load) -> None:
    """``fake_monochrome1.dcm`` stores the SIIM file's values unchanged but declares MONOCHROME1, so a
    correct reader displays it as a negative. The gate must say so, and "invert and analyse" must then
    give exactly the MONOCHROME2 file's result."""
    from core.chest.analysis import analyse

    mono2 = load("dicom/siim_pneumothorax_sample.dcm")
    mono1 = load("dicom/fake_monochrome1.dcm")
    assert mono1.photometric == "MONOCHROME1" and mono2.photometric == "MONOCHROME2"
    np.testing.assert_allclose(np.asarray(mono1.pixels), 1.0 - np.asarray(mono2.pixels), atol=1e-6)
    plain = analyse(mono2, test_model, feature_ref=None)
    refused = analyse(mono1, test_model, feature_ref=None)
    assert plain.gate.decision == "accept" and plain.analysed
    assert refused.gate.inverted and not refused.analysed
    fixed = analyse(mono1, test_model, invert=True, feature_ref=None)
    assert fixed.analysed and fixed.inverted_applied and fixed.gate.decision == "accept"
    np.testing.assert_allclose(fixed.prediction.probabilities, plain.prediction.probabilities, atol=1e-6)
    np.testing.assert_allclose(fixed.prediction.cams, plain.prediction.cams, atol=1e-5)
    assert [f.label for f in fixed.findings] == [f.label for f in plain.findings]


def test_batch_prediction_equals_single_predictions(test_model, load) -> None:
    images = [load(r) for r in SAMPLES[:3]]
    batch = test_model.predict_batch(images)
    for img, pred in zip(images, batch, strict=True):
        np.testing.assert_allclose(pred.probabilities, test_model.predict(img).probabilities, atol=1e-5)


def _all_images(shared_data: Path) -> list[Path]:
    return sorted(
        [*(shared_data / "cxr" / "nih14" / "images").glob("*.png"), *(shared_data / "cxr" / "covid" / "images").glob("*"),
         *(shared_data / "cxr" / "samples").glob("*"), *(shared_data / "dicom").glob("*.dcm")]
    )


def test_a_spread_of_real_images_all_load_and_yield_all_probabilities(shared_data: Path, test_model) -> None:
    from core.imaging import load_image

    paths = _all_images(shared_data)[::60]
    preds = test_model.predict_batch([load_image(p.read_bytes(), p.name) for p in paths])
    assert len(preds) == len(paths) >= 15
    assert all(p.probabilities.shape == (18,) and np.isfinite(p.probabilities).all() for p in preds)


@pytest.mark.slow
def test_every_real_image_loads_and_yields_all_probabilities(shared_data: Path, test_model) -> None:
    """All 1,137 files of ../shared/data (about a minute on 2 cores)."""
    from core.imaging import load_image

    paths = _all_images(shared_data)
    assert len(paths) > 1000
    for start in range(0, len(paths), 32):
        chunk = paths[start:start + 32]
        preds = test_model.predict_batch([load_image(p.read_bytes(), p.name) for p in chunk])
        for path, pred in zip(chunk, preds, strict=True):
            assert pred.probabilities.shape == (18,) and np.isfinite(pred.probabilities).all(), path.name
            assert np.isfinite(pred.cams).all(), path.name


# --- loader ------------------------------------------------------------------------------------
def test_the_released_pickle_format_loads_like_torchxrayvision(test_model, load, monkeypatch) -> None:
    """A whole pickled xrv DenseNet (the release format) loads through ``load_xrv_bytes``, with
    ``weights_only=True`` and the DenseNet's classes allowed; a pickle naming any other class is
    refused even when its bytes were (here: made to look) published."""
    import torchxrayvision as xrv

    from core.chest import loader
    from core.chest.loader import ModelLoadError, load_xrv_bytes, unpickle_xrv
    from core.chest.model import ModelIdentity

    source = xrv.models.DenseNet(weights=None)
    source.features.load_state_dict(test_model.net.features.state_dict())
    source.classifier.load_state_dict(test_model.net.classifier.state_dict())
    buf = io.BytesIO()
    torch.save(source, buf)
    data = buf.getvalue()
    ident = ModelIdentity("x", "x", "v", hashlib.sha256(data).hexdigest())
    with pytest.raises(ModelLoadError, match="unknown file"):  # not a published file: never unpickled
        load_xrv_bytes(data, ident)
    monkeypatch.setitem(loader.XRV_PUBLISHED_SHA256, hashlib.sha256(data).hexdigest(), "test file")
    loaded = load_xrv_bytes(data, ident)
    img = load(SAMPLES[0])
    np.testing.assert_allclose(loaded.predict(img).probabilities, test_model.predict(img).probabilities, atol=1e-6)
    assert not loaded.is_test_model and loaded.labels == XRV_LABELS

    buf = io.BytesIO()
    torch.save({"model": source, "extra": pathlib.PurePosixPath("x")}, buf)  # a class outside the allow-list
    odd = buf.getvalue()
    monkeypatch.setitem(loader.XRV_PUBLISHED_SHA256, hashlib.sha256(odd).hexdigest(), "test file")
    with pytest.raises(ModelLoadError, match="PurePosixPath"):
        unpickle_xrv(odd)


def test_without_weights_nothing_is_available_and_the_error_names_the_command(tmp_path, monkeypatch) -> None:
    from core.chest import loader
    from core.errors import MissingModelError

    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    # as on a checkout without the bundled starter model (its own test: test_the_starter_is_used_without_xrv)
    cards = [c for c in loader.chest_cards() if c.name == loader.XRV_NAME]
    monkeypatch.setattr(loader, "chest_cards", lambda: cards)
    avail = loader.availability()
    assert avail.name is None and "xrv-densenet121-res224-all" in avail.candidates
    with pytest.raises(MissingModelError) as info:
        loader.load_best_model()
    assert "python -m core.models fetch xrv-densenet121-res224-all" in str(info.value)
    assert "설치" in info.value.message("ko")


def test_preference_is_xrv_then_starters_by_auc(monkeypatch) -> None:
    from core.chest import loader
    from core.models import registry

    cards = [
        SimpleNamespace(name="starter-b", metrics={"auc_mean": 0.7}),
        SimpleNamespace(name="starter-a", metrics={"auc_mean": 0.8}),
        SimpleNamespace(name="xrv-densenet121-res224-all", metrics={}),
    ]
    monkeypatch.setattr(registry, "list_cards", lambda task=None, **_: cards)
    assert [c.name for c in loader.chest_cards()] == ["xrv-densenet121-res224-all", "starter-a", "starter-b"]
    monkeypatch.setattr(registry, "installed_path", lambda name, *a, **k: Path("/x") if name.startswith("starter") else None)
    monkeypatch.setattr(registry, "install_command", lambda card: f"cmd {card.name}")
    assert loader.availability().name == "starter-a"


def test_an_installed_model_without_its_fitted_input_check_is_held_back(monkeypatch) -> None:
    """xrv installed (e.g. downloaded) but its feature reference never fitted: the gate would refuse every
    film with it, so the next fully checked model is used and the page is told how to enable xrv."""
    from core.chest import loader
    from core.models import registry

    xrv = "xrv-densenet121-res224-all"
    cards = {xrv: SimpleNamespace(name=xrv, metrics={}), "starter-a": SimpleNamespace(name="starter-a", metrics={})}
    gate_cards = {f"{xrv}-gate": SimpleNamespace(name=f"{xrv}-gate")}
    installed = {xrv, "starter-a"}

    def get_card(name: str):  # type: ignore[no-untyped-def]
        if name in gate_cards or name in cards:
            return {**gate_cards, **cards}[name]
        raise KeyError(name)

    monkeypatch.setattr(registry, "list_cards", lambda task=None, **_: list(cards.values()))
    monkeypatch.setattr(registry, "get_card", get_card)
    monkeypatch.setattr(registry, "installed_path", lambda name, *a, **k: Path("/x") if name in installed else None)
    monkeypatch.setattr(registry, "install_command", lambda card: f"fit {card.name}")
    assert loader.gate_reference_missing("starter-a") is None  # no feature card: image statistics only
    avail = loader.availability()
    assert avail.name == "starter-a" and avail.held_back == ((xrv, f"fit {xrv}-gate"),)
    installed.add(f"{xrv}-gate")  # the site fits it: xrv is used
    assert loader.availability().name == xrv and loader.availability().held_back == ()
    installed.discard(f"{xrv}-gate")
    installed.discard("starter-a")  # nothing else: no model, and the page still says why xrv is not used
    avail = loader.availability()
    assert avail.name is None and avail.held_back == ((xrv, f"fit {xrv}-gate"),)


def test_a_changed_file_is_refused_before_unpickling(tmp_path, monkeypatch) -> None:
    from core.chest import loader
    from core.models import registry

    path = tmp_path / "w.pt"
    path.write_bytes(b"not what was verified")
    monkeypatch.setattr(registry, "status", lambda name, *a, **k: SimpleNamespace(sha256="0" * 64))
    with pytest.raises(loader.ModelLoadError):
        loader.load_model("xrv-densenet121-res224-all", path)


def test_a_starter_model_with_a_pooled_linear_head_loads_with_exact_cams(tmp_path) -> None:
    import timm

    from core.chest.loader import load_starter_bytes
    from core.chest.model import ModelIdentity, PooledLinearChestModel

    torch.manual_seed(0)
    net = timm.create_model("efficientnet_b0", pretrained=False, num_classes=3, in_chans=1).eval()
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    card = SimpleNamespace(architecture="efficientnet_b0", labels=("Effusion", "Pneumonia", "Cardiomegaly"), loader="state-dict",
                           input={"size": 160, "channels": 1, "range": [-1, 1]})
    model = load_starter_bytes(buf.getvalue(), card, ModelIdentity("starter", "Starter", "1", "0" * 64))
    assert isinstance(model, PooledLinearChestModel)
    pixels = np.random.default_rng(0).random((300, 260), dtype=np.float32)
    pred = model.predict_pixels(pixels)
    x = torch.from_numpy(model.preprocess(pixels)[0][None])
    with torch.inference_mode():
        expected = torch.sigmoid(net(x))[0].numpy()
    np.testing.assert_allclose(pred.probabilities, expected, atol=1e-5)
    assert pred.cams.shape[0] == 3 and pred.labels == card.labels


def test_the_starter_is_used_without_xrv_and_xrv_is_preferred_once_installed(tmp_path, monkeypatch) -> None:
    from core.chest import loader
    from core.models import registry

    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    starters = [c.name for c in loader.chest_cards() if c.loader == "core.chest.starter"]
    if not starters or registry.installed_path(starters[0]) is None:
        pytest.skip("the bundled starter model file is not in this checkout")
    assert loader.availability().name == starters[0]
    model = loader.load_best_model()
    assert model.name == starters[0] and not model.is_test_model
    assert model.sha256 == registry.get_card(starters[0]).sha256
    summary = loader.starter_summary(starters[0])
    assert 0.5 < float(summary["auc"]) < 1.0 and float(summary["lo"]) < float(summary["auc"]) < float(summary["hi"])
    # xrv ranks first whatever the starters' figures, so installing it replaces the starter
    assert loader.chest_cards()[0].name == loader.XRV_NAME
