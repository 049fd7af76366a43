"""Decode an upload in a short-lived worker process, with a time limit and a memory limit.

Pages call :func:`load_upload` instead of :func:`~core.imaging.load_image`. Each decode runs
in a process forked from a small helper, the *decode server* (``python -c`` started once per app
process, with every decoder imported; it never holds the app's threads, models or sessions), so
a fork costs milliseconds. The caller sends the bytes over a socket and waits:

* **time**: the worker arms a timer at ``limits.max_seconds`` whose signal ends it, and the
  caller stops waiting then: the user gets ``imaging.error.timeout`` and the work really stops
  (a thread could not stop a decoder running in C).
* **memory**: the worker's private memory may grow by ``limits.max_memory_bytes`` at most
  (``RLIMIT_DATA`` on Linux, else ``RLIMIT_AS``); past it an allocation fails and the user gets
  ``imaging.error.out_of_memory`` instead of the OOM killer ending the server.
* **crashes**: a decoder that segfaults or aborts ends only the worker
  (``imaging.error.decoder_failed``).
* **load**: at most :data:`MAX_WORKERS` decodes run at once per app process; a further upload
  waits for a free slot within its own time limit (else ``imaging.error.busy``).
* **no fail-open**: where the decode server cannot start or fork a worker (``fork`` or ``exec``
  refused, e.g. under memory pressure during an attack), the upload is refused with
  ``imaging.error.no_worker``; it is never decoded in the app process instead. Nothing is
  latched: after a failed start, uploads are refused for :data:`_START_BACKOFF_S` seconds
  (an attack that keeps uploading does not start a server per upload), then the next one tries
  to start the server again.

The cheap checks (empty, byte limit, type sniffing) run in the caller first, so a wrong file never
starts a worker. The pixels come back straight into a preallocated array (one copy). Only where
no worker can ever run (no ``fork``: Windows, where this is a development convenience, not a
deployment target) does the decode run in the calling process, with the same pre-decode limits
but without the time and memory limits or crash isolation.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection

import numpy as np

from core.imaging.compact import CompactImage
from core.imaging.loader import DEFAULT_LIMITS, load_image
from core.imaging.sniff import sniff
from core.imaging.types import ImageError, ImageInput, Limits

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no worker processes there
    resource = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Decodes that may run at once (each may use up to ``Limits.max_memory_bytes``).
MAX_WORKERS = max(1, min(4, os.cpu_count() or 1))
_SLOTS = threading.BoundedSemaphore(MAX_WORKERS)
_SERVER_LOCK = threading.Lock()
_server: _Server | None = None
#: True where no worker can ever run (no ``fork``: Windows): the only case decoded in-process.
_unavailable = resource is None or not hasattr(os, "fork") or not hasattr(socket, "send_fds")
#: After the server failed to start, uploads are refused for this long before it is tried again.
_START_BACKOFF_S = 2.0
_start_failed_at: float | None = None  # time.monotonic() of the last failed start
_GRACE_S = 0.5  # the worker's own timer fires this long after the caller stops waiting
_CHUNK = 4 << 20  # pixels are sent in 4 MiB steps (one huge send/recv was several times slower)


@dataclass(frozen=True)
class DecodeStats:
    """How one isolated decode went (for benchmarks and logs; no patient data).

    Attributes:
        seconds: wall-clock time in the caller, from the first check to having the result.
        decode_seconds: time spent in ``load_image`` inside the worker (None if it never ended).
        peak_rss_growth: the worker's peak resident memory minus its resident memory before
            decoding, in bytes (None when not measured).
        outcome: ``"ok"``, ``"refused"`` (an ImageError from the checks or the loader),
            ``"timeout"``, ``"crashed"`` (the worker died), ``"escaped"`` (an exception got out of
            ``load_image``: a bug), ``"no_worker"`` (the server or worker could not be started:
            refused, not decoded) or ``"in_process"`` (a platform without ``fork``).
    """

    seconds: float
    decode_seconds: float | None
    peak_rss_growth: int | None
    outcome: str


def load_upload(data: bytes, filename: str | None = None, limits: Limits | None = None) -> ImageInput:
    """:func:`~core.imaging.load_image` in a worker process with a time and memory limit.

    Raises:
        ImageError: everything :func:`load_image` raises, plus ``timeout``, ``out_of_memory``
            (the worker's memory limit), ``decoder_failed`` (the worker died), ``busy`` and
            ``no_worker`` (no worker process could be started).
        TypeError: ``data`` is not bytes-like.
    """
    result, _stats = decode_isolated(data, filename, limits)
    if isinstance(result, ImageError):
        raise result
    return result


def decode_isolated(
    data: bytes, filename: str | None = None, limits: Limits | None = None,
    compact: tuple[int, bool] | None = None,
) -> tuple[ImageInput | CompactImage | ImageError, DecodeStats]:
    """Decode ``data`` in a worker; returns the image or the error, and how it went.

    ``compact``: ``(max_side, precise)`` to get the session copy
    (:class:`~core.imaging.compact.CompactImage`) made in the worker: the full-resolution
    float32 pixels then never reach the calling process (a 50-megapixel colour photo is 600 MB
    there, its session copy 12 MB).

    Raises:
        TypeError: ``data`` is not bytes-like.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"load_upload expects bytes, got {type(data).__name__}")
    limits = DEFAULT_LIMITS if limits is None else limits
    name = filename if isinstance(filename, str) else None
    start = time.perf_counter()
    try:
        if not data or len(data) > limits.max_bytes:
            load_image(data, name, limits)  # refuses at once, no worker needed
        fmt, _forced = sniff(data, name)
    except ImageError as err:
        return err, DecodeStats(time.perf_counter() - start, None, None, "refused")
    if not _SLOTS.acquire(timeout=limits.max_seconds):
        err = ImageError("imaging.error.busy", reason="all decode workers busy")
        return err, DecodeStats(time.perf_counter() - start, None, None, "refused")
    try:
        try:
            conn = _connect()
        except OSError as exc:  # never fall back to decoding here: that is what the worker guards
            err = ImageError("imaging.error.no_worker", reason=type(exc).__name__)
            return err, DecodeStats(time.perf_counter() - start, None, None, "no_worker")
        if conn is None:
            return _in_process(data, name, limits, start, compact)
        with conn:
            return _exchange(conn, data, name, fmt, limits, start, compact)
    finally:
        _SLOTS.release()


def _in_process(data: bytes, name: str | None, limits: Limits, start: float,
                compact: tuple[int, bool] | None = None) -> tuple[ImageInput | CompactImage | ImageError, DecodeStats]:
    image: ImageInput | CompactImage | ImageError
    try:
        image = load_image(data, name, limits)
    except ImageError as err:
        image = err
    if compact is not None and isinstance(image, ImageInput):
        image = CompactImage.of(image, *compact)
    seconds = time.perf_counter() - start
    return image, DecodeStats(seconds, seconds, None, "in_process")


def _exchange(conn: Connection, data: bytes, name: str | None, fmt: str, limits: Limits, start: float,
              compact: tuple[int, bool] | None = None) -> tuple[ImageInput | CompactImage | ImageError, DecodeStats]:
    deadline = start + limits.max_seconds
    decode_seconds: float | None = None
    peak: int | None = None
    try:
        conn.send((name, limits, compact))
        conn.send_bytes(data)
        if not conn.poll(max(0.0, deadline - time.perf_counter())):
            err = ImageError("imaging.error.timeout", seconds=f"{limits.max_seconds:g}", format=fmt)
            return err, DecodeStats(time.perf_counter() - start, None, None, "timeout")
        message = conn.recv()
        decode_seconds, peak = message[-2], message[-1]
        if message[0] == "escaped":  # an exception escaped load_image in the worker (a bug)
            logger.error("decode worker: %s escaped load_image", message[1])
            err = ImageError("imaging.error.decoder_failed", format=fmt, reason=str(message[1]))
            return err, DecodeStats(time.perf_counter() - start, None, None, "escaped")
        if message[0] == "error":
            err = ImageError(message[1], **message[2])
            return err, DecodeStats(time.perf_counter() - start, decode_seconds, peak, "refused")
        values, original_size, shape, dtype = message[1:5]
        pixels = np.empty(shape, dtype=np.dtype(dtype))
        _receive_into(conn, memoryview(pixels).cast("B"), deadline + _GRACE_S)
        if message[0] == "compact":
            pixels.setflags(write=False)
            image: ImageInput | CompactImage = CompactImage(pixels, values, tuple(original_size))
        else:
            image = ImageInput(pixels=pixels, **values)
        return image, DecodeStats(time.perf_counter() - start, decode_seconds, peak, "ok")
    except (EOFError, OSError, pickle.UnpicklingError):  # the worker died (crash, timer, memory)
        if time.perf_counter() >= deadline:
            err = ImageError("imaging.error.timeout", seconds=f"{limits.max_seconds:g}", format=fmt)
            return err, DecodeStats(time.perf_counter() - start, decode_seconds, peak, "timeout")
        err = ImageError("imaging.error.decoder_failed", format=fmt, reason="worker ended")
        return err, DecodeStats(time.perf_counter() - start, decode_seconds, peak, "crashed")


def _receive_into(conn: Connection, view: memoryview, deadline: float) -> None:
    """Read exactly ``len(view)`` raw bytes from the worker straight into ``view``.

    Raises:
        EOFError: the worker ended first.
        OSError: nothing arrived before ``deadline`` (socket.timeout).
    """
    with socket.socket(fileno=os.dup(conn.fileno())) as raw:
        done = 0
        while done < len(view):
            raw.settimeout(max(0.05, deadline - time.perf_counter()))
            got = raw.recv_into(view[done : done + _CHUNK])
            if got == 0:
                raise EOFError("decode worker ended while sending pixels")
            done += got


# ----------------------------------------------------------------------------- the decode server


class _Server:
    """The helper process and the control socket over which it receives one socket per decode."""

    def __init__(self) -> None:
        from core.settings import PROJECT_ROOT

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = f"from core.imaging.worker import serve; serve({theirs.fileno()})"
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
            [sys.executable, "-c", code], cwd=str(PROJECT_ROOT), pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL, close_fds=True,
        )
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()

    def open(self) -> Connection:
        """A new connection to a freshly forked worker.

        Raises:
            OSError: the server is gone.
        """
        mine, worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self.lock:
                socket.send_fds(self.control, [b"w"], [worker.fileno()])
        finally:
            worker.close()
        return Connection(mine.detach())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.control.close()
        try:
            self.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _connect() -> Connection | None:
    """A connection to a new worker, starting or restarting the server as needed.

    Returns None only where no worker can ever run (no ``fork``).

    Raises:
        OSError: the server could not be started (now, or within :data:`_START_BACKOFF_S` of a
            failed start) or could not fork a worker after a restart.
    """
    global _server, _start_failed_at
    if _unavailable:
        return None
    last: OSError = OSError(errno.EAGAIN, "decode server unavailable")
    for _attempt in range(2):
        with _SERVER_LOCK:
            if _server is None or not _server.alive():
                if _server is not None:
                    _server.close()
                    _server = None
                failed_at = _start_failed_at
                if failed_at is not None and time.monotonic() - failed_at < _START_BACKOFF_S:
                    raise OSError(errno.EAGAIN, "decode server failed to start moments ago")
                try:
                    _server = _Server()
                except OSError as exc:
                    logger.warning("decode server did not start (%s): uploads refused, retried in %g s",
                                   type(exc).__name__, _START_BACKOFF_S)
                    _start_failed_at = time.monotonic()
                    raise
                _start_failed_at = None
            server = _server
        try:
            return server.open()
        except OSError as exc:
            last = exc
            with _SERVER_LOCK:
                if _server is server:
                    server.close()
                    _server = None
    raise last


def serve(control_fd: int) -> None:
    """The decode server's loop (run with ``python -c``): for each socket received on
    ``control_fd``, fork a worker that serves that one decode. Ends when the app closes the
    control socket (or dies)."""
    import core.imaging.warm  # noqa: F401 - every decoder imported once, before any fork

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C in the app's terminal is the app's business
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 16, 4)
        except InterruptedError:  # pragma: no cover - retried by Python itself
            continue
        except OSError:
            return
        if not message:
            return  # the app closed the control socket
        for fd in fds:
            try:
                pid = os.fork()
            except OSError:
                os.close(fd)  # the caller sees the connection close: decoder_failed
                continue
            if pid == 0:
                code = 0
                try:
                    control.close()
                    for other in fds:
                        if other != fd:
                            os.close(other)
                    worker = Connection(fd)
                    _worker(worker)
                except BaseException as exc:  # noqa: BLE001 - a worker never returns into the loop
                    code = 1
                    try:  # tell the caller (the loader itself lets no decoder failure out)
                        if _out_of_memory(exc):  # the memory limit, outside the loader
                            worker.send(("error", "imaging.error.out_of_memory", {"reason": "MemoryError"}, None, None))
                        else:
                            worker.send(("escaped", type(exc).__name__, None, None))
                    except BaseException:  # noqa: BLE001, S110 - the caller then sees the connection end
                        pass
                finally:
                    os._exit(code)
            os.close(fd)


# ----------------------------------------------------------------------------- in the worker


def _worker(conn: Connection) -> None:
    """Runs in a forked worker: receive one request, decode it, send the result."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 60.0)  # a caller that never sends cannot keep us
    name, limits, compact = conn.recv()
    signal.setitimer(signal.ITIMER_REAL, limits.max_seconds + _GRACE_S)  # SIGALRM ends the worker
    data = conn.recv_bytes()  # before the memory limit: the upload itself is bounded by max_bytes
    _limit_memory(limits.max_memory_bytes)
    base = _reset_peak()
    started = time.perf_counter()
    try:
        image = load_image(data, name, limits)
    except ImageError as err:
        conn.send(("error", err.key, dict(err.params), time.perf_counter() - started, _peak_growth(base)))
        return
    except (MemoryError, OSError) as exc:  # outside the loader's own handling (e.g. building the result)
        if not _out_of_memory(exc):
            raise
        conn.send(("error", "imaging.error.out_of_memory", {"reason": "MemoryError"},
                   time.perf_counter() - started, _peak_growth(base)))
        return
    if compact is not None:  # only the session copy leaves the worker
        kept = CompactImage.of(image, *compact)
        del image
        pixels, values, size, kind = np.ascontiguousarray(kept.pixels), kept.values, kept.original_size, "compact"
    else:
        pixels = np.ascontiguousarray(image.pixels)
        values = {f.name: getattr(image, f.name) for f in fields(image) if f.name != "pixels"}
        size, kind = pixels.shape[:2], "ok"
    seconds = time.perf_counter() - started
    view = memoryview(pixels).cast("B")  # before the header: a failure here is still reported as one
    conn.send((kind, values, size, pixels.shape, pixels.dtype.str, seconds, _peak_growth(base)))
    with socket.socket(fileno=os.dup(conn.fileno())) as raw:
        for offset in range(0, len(view), _CHUNK):  # raw bytes, no framing copies, in steps the
            raw.sendall(view[offset : offset + _CHUNK])  # kernel handles well


def _out_of_memory(exc: BaseException) -> bool:
    """True for an allocation refused under the worker's memory limit: ``MemoryError``, or an
    ``OSError`` with ENOMEM (``os.scandir``, ``mmap`` and the like report it that way), also
    when it was raised while handling one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or (isinstance(current, OSError) and current.errno == errno.ENOMEM):
            return True
        current = current.__context__
    return False


def _limit_memory(extra: int) -> None:
    """Let the worker's private writable memory grow by ``extra`` bytes from now on
    (``RLIMIT_DATA``, which on Linux counts heap and anonymous mappings; thread arenas that are
    only reserved do not count, so the limit tracks what is really used). Elsewhere
    ``RLIMIT_AS`` (the whole address space)."""
    if resource is None:  # pragma: no cover
        return
    for kind, field in ((getattr(resource, "RLIMIT_DATA", None), "VmData"), (resource.RLIMIT_AS, "VmSize")):
        current = _status(field)
        if kind is None or current is None:
            continue
        try:
            _soft, hard = resource.getrlimit(kind)
            limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
            resource.setrlimit(kind, (limit, hard))
            return
        except (ValueError, OSError):  # pragma: no cover - try the next kind
            continue


def _status(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _reset_peak() -> int | None:
    """Reset the kernel's resident-memory high-water mark to now; returns the resident size."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return None
    return _status("VmRSS")


def _peak_growth(base: int | None) -> int | None:
    peak = _status("VmHWM")
    return None if base is None or peak is None else max(0, peak - base)
