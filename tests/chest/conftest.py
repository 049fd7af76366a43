"""Fixtures for the chest tests: one seeded random-weight test model per session, real images."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def test_model():
    """A seeded **random-weight** DenseNet-121 wrapped as a ChestModel (flagged as a test model)."""
    from core.chest.model import build_test_model

    return build_test_model(seed=0)


@pytest.fixture(scope="session")
def load(shared_data: Path):
    """``load("cxr/samples/x.png")`` -> ImageInput of a file under ../shared/data."""
    from core.imaging import load_image

    def _load(rel: str):
        path = shared_data / rel
        return load_image(path.read_bytes(), path.name)

    return _load


@pytest.fixture(scope="session")
def covid_rows(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "cxr" / "covid" / "metadata.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
