"""The load bench's own parts that decide what it measures: every upload is a new file with the demo
film's pixels, and the browsers really get the lowest CPU priority (their own scheduling group)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
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
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel has no autogroup scheduling (nothing to set: nice alone applies)")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        mine = Path("/proc/self/autogroup").read_text().split()[0]
        theirs = Path(f"/proc/{child.pid}/autogroup").read_text().split()[0]
        assert theirs != mine  # a new session: a group of its own, as the browser's
        assert _to_background({child.pid}) == "autogroup"
        assert Path(f"/proc/{child.pid}/autogroup").read_text().split()[-1] == "19"
        assert Path("/proc/self/autogroup").read_text().split()[-1] != "19"  # ours untouched
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("item", ["DRDC_ANALYSIS_SLOTS", "=2"])
def test_a_setting_for_the_replicas_that_is_not_key_value_is_refused_before_anything_starts(
        item: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.bench_load import main

    with pytest.raises(SystemExit) as stop:
        main(["--env", item])
    assert stop.value.code == 2 and "--env takes KEY=VALUE" in capsys.readouterr().err
