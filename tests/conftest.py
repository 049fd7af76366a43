"""Shared fixtures."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from core.storage import postgres  # noqa: E402
from tests.postgres_server import Cluster, fresh_schema_url  # noqa: E402

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real data folder (``../shared/data``); skips the test when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (a fresh clone has none)")
    return SHARED_DATA


@pytest.fixture()
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty (not yet created) downloads folder for the registry, and a temporary ``HOME`` so that
    no real ``~/.torchxrayvision`` cache leaks in."""
    folder = tmp_path / "weights"
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return folder


@pytest.fixture()
def weights_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the committed weights folder (the bundled cards' files) that the registry reads
    instead of the real one, so a test may damage or delete files; downloads go to a temporary folder.
    The chest gate's cached reference files are forgotten before and after."""
    from core.chest import gate
    from core.models import registry

    folder = tmp_path / "bundled"
    folder.mkdir()
    for card in registry.list_cards():
        src = registry.BUNDLED_DIR / card.file
        if card.bundled and src.is_file():
            shutil.copy2(src, folder / card.file)
    monkeypatch.setattr(registry, "BUNDLED_DIR", folder)
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "downloads"))
    gate._image_reference_cached.cache_clear()
    gate._view_net_cached.cache_clear()
    yield folder
    gate._image_reference_cached.cache_clear()
    gate._view_net_cached.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's app data (board db, audit log, history) in a temporary folder, on local files."""
    data = tmp_path_factory.mktemp("drdc-data")
    monkeypatch.setenv("DRDC_DATA_DIR", str(data))
    monkeypatch.delenv("DRDC_DB_PATH", raising=False)
    monkeypatch.delenv("DRDC_DB_URL", raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database for this test session: ``DRDC_TEST_PG_URL`` when set,
    else a throwaway cluster started from the installed ``initdb``/``pg_ctl`` and removed at the end.
    Skips (with the reason) when neither the driver nor a server is available."""
    with Cluster.for_session() as url:
        yield url


@pytest.fixture(params=["files", "postgresql"])
def storage_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test once per storage engine: local files (``DRDC_DB_URL`` unset), then PostgreSQL
    (``DRDC_DB_URL`` pointing at a fresh schema of the session's database, so each test starts empty)."""
    if request.param == "files":
        yield "files"
        return
    monkeypatch.setenv("DRDC_DB_URL", fresh_schema_url(request.getfixturevalue("postgres_url")))
    try:
        yield "postgresql"
    finally:
        postgres.close_pools()
