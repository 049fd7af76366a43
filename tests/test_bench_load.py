"""The load bench's own parts that decide what it measures: every upload is a new file with the demo
film's pixels, and the browsers really get the lowest CPU priority (their own scheduling group)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from bench.bench_load import FILMS, _distinct_films, _to_background


def test_every_upload_is_a_new_file_with_the_demo_films_pixels(tmp_path: Path) -> None:
    if not FILMS:
        pytest.skip("no demo chest films in assets/demo/chest")
    films = _distinct_films(tmp_path, len(FILMS) + 2)
    assert len({hashlib.sha256(f.read_bytes()).hexdigest() for f in films}) == len(films)
    for k, path in enumerate(films):
        with Image.open(path) as copy, Image.open(FILMS[k % len(FILMS)]) as original:
            assert np.array_equal(np.asarray(copy), np.asarray(original))


def test_a_browser_in_its_own_session_is_put_at_the_lowest_priority_of_its_group() -> None:
    """Chromium runs in a session of its own; Linux schedules each session as a group whose weight the
    processes' nice does not change. The bench sets the group's own nice (``/proc/<pid>/autogroup``)."""
    from bench.bench_load import _autogroup

    mine = _autogroup(os.getpid())
    if mine is None:
        pytest.skip("autogroup scheduling does not apply here (kernel without it, switched off, or this "
                    "process is in a cgroup of its own, as on CI runners): nothing to set, nice alone "
                    "applies; test_without_autogroup_the_browser_still_gets_nice_19 covers it")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        theirs = _autogroup(child.pid)
        assert theirs is not None and theirs.split()[0] != mine.split()[0]  # a new session: its own group
        assert _to_background({child.pid}) == "autogroup"
        assert (_autogroup(child.pid) or "").split()[-1] == "19"
        assert (_autogroup(os.getpid()) or "").split()[-1] != "19"  # ours untouched
        assert psutil.Process(child.pid).nice() == 19
    finally:
        child.kill()
        child.wait()


def test_without_autogroup_the_browser_still_gets_nice_19(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where autogroup does not apply (its file reads empty in a cgroup of its own), the bench says
    so (``nice``, not ``autogroup``) and the processes still get the lowest priority."""
    import bench.bench_load as bench_load

    monkeypatch.setattr(bench_load, "_autogroup", lambda pid: None)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        assert bench_load._to_background({child.pid}) == "nice"
        assert psutil.Process(child.pid).nice() == 19
    finally:
        child.kill()
        child.wait()
    assert bench_load._to_background({child.pid}) == "none"  # gone: nothing took effect


@pytest.mark.parametrize("item", ["DRDC_ANALYSIS_SLOTS", "=2"])
def test_a_setting_for_the_replicas_that_is_not_key_value_is_refused_before_anything_starts(
        item: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.bench_load import main

    with pytest.raises(SystemExit) as stop:
        main(["--env", item])
    assert stop.value.code == 2 and "--env takes KEY=VALUE" in capsys.readouterr().err
