"""Ensembles of chest networks and test-time views (core.chest.nets.build_ensemble,
core.chest.model.forward_views): the shipped 14-finding file may average several trunks over
several shifted views, and everything the page reads from it must stay exact."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.chest.model import (
    Calibration,
    ModelIdentity,
    PooledLinearChestModel,
    check_views,
    forward_views,
    linear_head_cams,
    shifted,
)
from core.chest.nets import build, build_ensemble, ensemble_size
from core.chest.starter import features_digest

SHIFTS = ((1.0, 0.0, 0.0), (1.0, 0.06, 0.0), (1.0, -0.06, 0.0), (1.0, 0.0, 0.06), (1.0, 0.0, -0.06))


def _net(seed: int, classes: int = 3) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build("efficientnet_lite0_ms", classes, pretrained=False).eval()
    with torch.no_grad():  # random BN statistics, so members really differ
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net


def _film(seed: int = 0, size: int = 64) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.5 + 0.3 * np.sin(7 * xx) * np.cos(5 * yy) + rng.normal(0, 0.05, (size, size))
    return torch.from_numpy(np.repeat(img[None, None], 3, axis=1).astype(np.float32))


def test_ensemble_logits_and_cams_are_the_mean_of_its_members() -> None:
    a, b = _net(1), _net(2)
    ens = build_ensemble([a, b]).eval()
    x = _film()
    with torch.inference_mode():
        mean_logits = (a(x) + b(x)) / 2
        fa, fb = a.feature_map(x), b.feature_map(x)
        raw = lambda net, f: torch.einsum("lk,bkhw->blhw", net.classifier.weight, f)  # noqa: E731
        mean_cam = torch.relu((raw(a, fa) + raw(b, fb)) / 2)
        assert torch.allclose(ens(x), mean_logits, atol=1e-5)
        assert not torch.allclose(a(x), b(x), atol=1e-3)  # the members differ, so the check means something
        assert torch.allclose(linear_head_cams(ens.feature_map(x), ens.classifier.weight), mean_cam, atol=1e-5)
    assert ens.features_width == a.classifier.in_features


def test_ensemble_features_are_the_first_members_features() -> None:
    """The gate's feature reference and the report writer were fitted on the first member's pooled
    features; the ensemble's prediction must carry exactly those, not the concatenation."""
    a, b = _net(1), _net(2)
    identity = ModelIdentity("t", "t", "1", "0" * 64)
    single = PooledLinearChestModel(a, Calibration(None), ["x", "y", "z"], identity, preprocess=_pre)
    pair = PooledLinearChestModel(build_ensemble([a, b]), Calibration(None), ["x", "y", "z"], identity, preprocess=_pre)
    img = _film()[0, 0].numpy()
    ps, pp = single.predict_pixels(img), pair.predict_pixels(img)
    assert pp.features.shape == ps.features.shape
    assert np.allclose(pp.features, ps.features, atol=1e-5)
    assert not np.allclose(pp.logits, ps.logits, atol=1e-3)


def _pre(pixels: np.ndarray) -> tuple[np.ndarray, None]:
    return np.repeat(pixels[None].astype(np.float32), 3, axis=0), None


def test_build_by_name_round_trips_an_ensemble_state() -> None:
    ens = build_ensemble([_net(1), _net(2), _net(3)])
    again = build("efficientnet_lite0_ms_x3", 3, pretrained=False)
    again.load_state_dict(ens.state_dict(), strict=True)
    x = _film()
    with torch.inference_mode():
        assert torch.allclose(again.eval()(x), ens.eval()(x), atol=1e-6)
    assert ensemble_size("efficientnet_lite0_ms_x3") == 3 and ensemble_size("efficientnet_lite0_ms") == 1


def test_an_ensemble_needs_two_members_with_the_same_head() -> None:
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble([_net(1)])
    with pytest.raises(ValueError, match="different heads"):
        build_ensemble([_net(1, classes=3), _net(2, classes=4)])


def test_views_average_the_logits_of_shifted_films_and_keep_the_films_own_map() -> None:
    net = _net(4)
    x = _film(1)
    with torch.inference_mode():
        fmap, pooled, logits = forward_views(net, x, SHIFTS)
        each = torch.stack([net(shifted(x, v)) for v in SHIFTS])
        assert torch.allclose(logits, each.mean(0), atol=1e-5)
        assert torch.allclose(fmap, net.feature_map(x), rtol=1e-4, atol=1e-4)  # the heatmap is the film's own
        assert not torch.allclose(logits, net(x), atol=1e-4)  # the shifts changed the score
        _, _, plain = forward_views(net, x)
        assert torch.allclose(plain, net(x), atol=1e-6)


def test_a_shift_moves_the_film_and_never_mirrors_it() -> None:
    x = torch.zeros(1, 1, 32, 32)
    x[..., 10:14, 4:8] = 1.0  # a bright block left of centre
    right = shifted(x, (1.0, -0.25, 0.0))  # content moves right by 25 % of the half-width = 4 px
    cols = right[0, 0].sum(0)
    assert cols.argmax() > 4 and cols[:16].sum() > cols[16:].sum()  # still left of centre: not mirrored


@pytest.mark.parametrize("views, match", [
    ([(1.0, 0.06, 0.0)], "first test-time view"),
    ([(1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)], "outside"),
    ([(1.0, 0.0, 0.0), (1.0, 0.5, 0.0)], "outside"),
    ([(1.0, 0.0, 0.0), (1.0, 0.0)], "scale, dx, dy"),
    ([(1.0, 0.0, 0.0), (1.0, float("nan"), 0.0)], "scale, dx, dy"),
])
def test_malformed_views_are_refused(views: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_views(views)


def test_features_digest_follows_the_trunk_not_the_head_or_other_members() -> None:
    a, b = _net(1), _net(2)
    half = lambda net: {k: v.half() for k, v in net.state_dict().items()}  # noqa: E731
    d_a = features_digest(half(a))
    assert features_digest(half(build_ensemble([a, b]))) == d_a  # same first member: same features
    assert features_digest(half(build_ensemble([b, a]))) != d_a
    other_head = half(a)
    other_head["classifier.weight"] = other_head["classifier.weight"] * 2
    assert features_digest(other_head) == d_a
    other_trunk = half(a)
    key = next(k for k in other_trunk if k.startswith("features.") and other_trunk[k].is_floating_point())
    other_trunk[key] = other_trunk[key] + 1
    assert features_digest(other_trunk) != d_a


def test_a_gate_reference_fitted_on_the_same_features_stays_valid_for_a_new_file() -> None:
    """A new weights file whose first trunk is unchanged (only the head, operating points or more
    members differ) keeps its feature reference; another trunk, or no recorded digest, does not."""
    from core.chest.gate import _same_features

    model = SimpleNamespace(identity=SimpleNamespace(features_sha256="f" * 64))
    assert _same_features({"features_sha256": "f" * 64}, model)
    assert not _same_features({"features_sha256": "e" * 64}, model)
    assert not _same_features({}, model)
    assert not _same_features({"features_sha256": ""}, SimpleNamespace(identity=SimpleNamespace(features_sha256="")))


@pytest.mark.parametrize("views", [[[1.0, 0.06, 0.0]], [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], [[1.0, 0.0]]])
def test_a_card_with_malformed_views_gives_a_translated_load_error(monkeypatch: pytest.MonkeyPatch, views: list) -> None:
    """A (site-written) card whose ``tta_views`` are malformed or would mirror the film: the page's load
    path refuses with the translated 'cannot be loaded' error naming why, never a crash or a mirrored score."""
    from dataclasses import replace

    from core.chest import loader
    from core.chest.starter import STARTER_MULTILABEL
    from core.models import registry

    card = registry.get_card(STARTER_MULTILABEL)
    bad = replace(card, input={**card.input, "tta_views": views})
    real = registry.get_card
    monkeypatch.setattr(loader.registry, "get_card", lambda name: bad if name == STARTER_MULTILABEL else real(name))
    with pytest.raises(loader.ModelLoadError) as err:
        loader.load_model(STARTER_MULTILABEL, registry.require(STARTER_MULTILABEL))
    assert err.value.key == "chest.model.broken"
    for lang in ("en", "ko"):
        text = err.value.message(lang)
        assert STARTER_MULTILABEL in text and "view" in text and text != err.value.key


def test_the_committed_model_carries_its_cards_korean_title_into_the_report_facts(load) -> None:
    """Page caption, report and PDF read the title in the reader's language; the canonical title
    (what the JSON, the audit and the image-prefix adapter bind to) stays the card's own."""
    from core.chest.analysis import analyse
    from core.chest.reading import OperatingPoint
    from core.chest.starter import STARTER_MULTILABEL, load_starter
    from core.models import registry

    card = registry.get_card(STARTER_MULTILABEL)
    model = load_starter(STARTER_MULTILABEL)
    ko = card.localized("title", "ko")
    assert ko != card.title and model.identity.title_in("ko") == ko and model.identity.title_in("en") == card.title
    result = analyse(load("cxr/samples/00000001_000.png"), model, override=True, feature_ref=None)
    facts = result.facts(OperatingPoint.of("balanced"))
    assert facts.model_title == card.title and facts.title_in("ko") == ko
