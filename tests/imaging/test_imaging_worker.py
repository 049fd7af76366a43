"""The page's loader: load_image in a forked worker with a time and a memory limit."""

from __future__ import annotations

import time

import numpy as np
import psutil
import pytest

from core.imaging import ImageError, Limits, load_image, load_upload
from core.imaging import worker as worker_module
from core.imaging.worker import decode_isolated
from tests.imaging import corpus

REAL_SERVER = worker_module._Server
pytestmark = pytest.mark.skipif(worker_module._unavailable, reason="no fork on this platform")


def _big_png(side: int = 4000) -> bytes:
    """A noisy 16-megapixel PNG: decoding takes far longer than a few milliseconds anywhere."""
    rng = np.random.default_rng(0)
    return corpus.pil_bytes(rng.integers(0, 255, (side, side), dtype=np.uint8), "PNG", compress_level=1)


def test_the_worker_returns_what_load_image_returns() -> None:
    seeds = corpus.seeds()
    for name in ("png-rgb", "jpeg-progressive", "dicom-mono1-16bit", "dicom-rle", "dicom-deflate"):
        expected = load_image(seeds[name])
        got, stats = decode_isolated(seeds[name])
        assert stats.outcome == "ok", name
        np.testing.assert_array_equal(got.pixels, expected.pixels)
        assert got.meta == expected.meta and got.sha256 == expected.sha256 and got.is_color == expected.is_color
        assert not got.pixels.flags.writeable
        assert stats.peak_rss_growth is None or stats.peak_rss_growth >= 0


def test_refusals_come_back_with_their_key_and_cheap_ones_start_no_worker() -> None:
    with pytest.raises(ImageError) as info:
        load_upload(corpus.many_scans_jpeg(5000))
    assert info.value.key == "imaging.error.too_many_scans"
    for data, key in ((b"", "imaging.error.empty"), (b"%PDF-1.4 xx", "imaging.error.unsupported_type")):
        result, stats = decode_isolated(data, "x.pdf")
        assert isinstance(result, ImageError) and result.key == key
        assert stats.decode_seconds is None  # refused before any worker


def test_the_panic_dicom_is_refused_and_the_next_upload_still_loads() -> None:
    result, stats = decode_isolated(corpus.panic_rle_dicom())
    assert isinstance(result, ImageError) and result.key == "imaging.error.corrupt" and stats.outcome == "refused"
    assert load_upload(corpus.seeds()["png-gray"]).pixels.shape == (96, 80)


def test_a_decode_over_the_time_limit_is_stopped_and_the_worker_ends() -> None:
    data = _big_png()
    start = time.perf_counter()
    result, stats = decode_isolated(data, limits=Limits(max_seconds=0.02))
    assert time.perf_counter() - start < 10.0  # loose: includes starting the decode server
    assert isinstance(result, ImageError) and result.key == "imaging.error.timeout"
    assert stats.outcome == "timeout" and "0.02" in result.message("en")
    server = psutil.Process(worker_module._server.proc.pid)
    deadline = time.time() + 10
    while server.children() and time.time() < deadline:  # the worker's own timer ends it
        time.sleep(0.05)
    assert not server.children()
    assert load_upload(corpus.seeds()["png-gray"]).pixels.shape == (96, 80)


def test_a_decode_over_the_memory_limit_is_refused_not_killed() -> None:
    result, stats = decode_isolated(_big_png(), limits=Limits(max_memory_bytes=24 << 20))
    assert isinstance(result, ImageError) and result.key == "imaging.error.out_of_memory"
    assert stats.outcome == "refused"


def test_every_memory_limit_below_the_need_gives_out_of_memory() -> None:
    """Where the allowance runs out depends on the machine's baseline: at some limits the
    allocation that fails was the error message's own (reading the translations under the
    limit gave ``OSError: [Errno 12]``, which escaped as decoder_failed on CI). Sweep them."""
    data = _big_png()
    for mb in range(4, 41, 3):
        result, stats = decode_isolated(data, limits=Limits(max_memory_bytes=mb << 20))
        assert isinstance(result, ImageError) and result.key == "imaging.error.out_of_memory", mb
        assert stats.outcome == "refused", mb


def test_an_enomem_oserror_counts_as_out_of_memory_also_when_raised_while_handling_one() -> None:
    import errno

    assert worker_module._out_of_memory(MemoryError())
    assert worker_module._out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory"))
    assert not worker_module._out_of_memory(OSError(errno.ENOENT, "gone"))
    assert not worker_module._out_of_memory(ValueError("bad"))
    try:
        try:
            raise MemoryError
        except MemoryError:
            raise OSError(errno.EBADF, "while reporting it")  # noqa: B904 - the chain is the point
    except OSError as exc:
        assert worker_module._out_of_memory(exc)


def test_a_worker_that_dies_gives_decoder_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    real_connect = worker_module._connect

    def connect_then_kill():  # type: ignore[no-untyped-def]
        conn = real_connect()
        server = psutil.Process(worker_module._server.proc.pid)
        deadline = time.time() + 10
        while not server.children() and time.time() < deadline:  # the server forks it in a moment
            time.sleep(0.01)
        for child in server.children():
            os.kill(child.pid, signal.SIGKILL)  # as a segfault in a decoder would
        return conn

    monkeypatch.setattr(worker_module, "_connect", connect_then_kill)
    result, stats = decode_isolated(corpus.seeds()["png-gray"])
    assert isinstance(result, ImageError) and result.key == "imaging.error.decoder_failed"
    assert stats.outcome == "crashed"
    for lang in ("en", "ko"):
        assert "{" not in result.message(lang)


def test_only_a_platform_without_fork_decodes_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: no fork, so no worker can ever run there (documented in docs/hardening.md)."""
    monkeypatch.setattr(worker_module, "_unavailable", True)
    result, stats = decode_isolated(corpus.seeds()["png-gray"])
    assert stats.outcome == "in_process" and result.pixels.shape == (96, 80)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The decode server cannot start (fork or exec refused, as under memory pressure); the
    app process must never decode the upload itself then. Yields the count of start attempts."""
    with worker_module._SERVER_LOCK:
        if worker_module._server is not None:
            worker_module._server.close()
            worker_module._server = None
    attempts = [0]

    def refuse() -> None:
        attempts[0] += 1
        raise OSError(12, "Cannot allocate memory")

    def no_in_process_decode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the upload was decoded in the app process")

    monkeypatch.setattr(worker_module, "_Server", refuse)
    monkeypatch.setattr(worker_module, "load_image", no_in_process_decode)
    monkeypatch.setattr(worker_module, "_START_BACKOFF_S", 0.0)
    yield attempts
    worker_module._start_failed_at = None


def test_a_server_that_cannot_start_refuses_the_upload_instead_of_decoding_in_process(no_server) -> None:
    for attempt in range(2):  # and it is not latched: the next upload tries to start it again
        result, stats = decode_isolated(corpus.seeds()["png-gray"])
        assert isinstance(result, ImageError) and result.key == "imaging.error.no_worker", attempt
        assert stats.outcome == "no_worker" and stats.decode_seconds is None
    assert no_server == [2]
    for lang in ("en", "ko"):
        assert "{" not in result.message(lang) and result.message(lang) != result.key


def test_after_a_failed_start_the_next_upload_decodes_in_a_worker_again(no_server, monkeypatch: pytest.MonkeyPatch) -> None:
    result, _stats = decode_isolated(corpus.seeds()["png-gray"])
    assert isinstance(result, ImageError) and result.key == "imaging.error.no_worker"
    monkeypatch.setattr(worker_module, "_Server", REAL_SERVER)  # memory is back
    got, stats = decode_isolated(corpus.seeds()["png-gray"])
    assert stats.outcome == "ok" and got.pixels.shape == (96, 80)
    assert worker_module._server is not None and worker_module._server.alive()


def test_within_the_back_off_a_failed_start_is_not_retried_at_once(no_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "_START_BACKOFF_S", 60.0)
    for _ in range(3):
        result, stats = decode_isolated(corpus.seeds()["png-gray"])
        assert isinstance(result, ImageError) and result.key == "imaging.error.no_worker"
    assert no_server == [1]  # an attack that keeps uploading does not fork a server per upload
    monkeypatch.setattr(worker_module, "_START_BACKOFF_S", 0.0)
    decode_isolated(corpus.seeds()["png-gray"])
    assert no_server == [2]


def test_a_server_that_starts_but_cannot_fork_workers_refuses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_in_process_decode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the upload was decoded in the app process")

    def refuse_open(self) -> None:  # type: ignore[no-untyped-def]
        raise OSError(32, "Broken pipe")

    monkeypatch.setattr(worker_module, "load_image", no_in_process_decode)
    monkeypatch.setattr(worker_module._Server, "open", refuse_open)
    result, stats = decode_isolated(corpus.seeds()["png-gray"])
    assert isinstance(result, ImageError) and result.key == "imaging.error.no_worker"
    assert stats.outcome == "no_worker"
    monkeypatch.undo()
    worker_module._start_failed_at = None
    got, stats = decode_isolated(corpus.seeds()["png-gray"])
    assert stats.outcome == "ok" and got.pixels.shape == (96, 80)


def test_the_session_copy_is_made_in_the_worker() -> None:
    from core.imaging.compact import CompactImage, load_compact

    data = corpus.pil_bytes(corpus.gradient(3000, 4000, channels=3), "JPEG", quality=85)
    kept, stats = decode_isolated(data, compact=(1024, False))
    assert isinstance(kept, CompactImage) and stats.outcome == "ok"
    assert kept.pixels.shape == (768, 1024, 3) and kept.pixels.dtype == np.uint8 and kept.original_size == (3000, 4000)
    expected = CompactImage.of(load_image(data), 1024)
    np.testing.assert_array_equal(kept.pixels, expected.pixels)
    assert kept.values == expected.values
    assert load_compact(data, max_side=1024).sha256 == expected.sha256
    with pytest.raises(ImageError):
        load_compact(b"%PDF-1.4")
