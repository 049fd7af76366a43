"""Download (resumable, checksummed) or install from a local folder (air-gapped sites).

A download goes to ``<file>.part``; a later run continues it with an HTTP ``Range`` request.
The file is moved into place only after its size and SHA-256 check out, so a half-written or
tampered file is never used. A card that states its checksum accepts that file only (``--sha256``
cannot override it). For a publisher that states none, the file is installed only with an explicit
``trust_unknown`` (``--trust-unknown``), which pins and prints its checksum; without it the file is
refused and its checksum is shown, so an administrator can compare it with a trusted source.
Nothing here ever unpickles a file: installing only copies and hashes bytes.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from core.errors import UserError
from core.models.card import ModelCard
from core.models.registry import (
    expected_sha256,
    get_card,
    install_dir,
    pin,
    sha256_of,
)
from core.settings import Settings

ProgressFn = Callable[[int, int | None], None]
CHUNK = 1 << 16


class FetchError(UserError):
    """A model could not be downloaded or installed (message says why and what to do)."""


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    dest: Path,
    *,
    expected_sha: str | None = None,
    expected_size: int | None = None,
    progress: ProgressFn | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest``, resuming from ``dest.part`` if a previous try was cut off.

    Returns the final path. Raises:
        FetchError: network failure (the partial file is kept for the next try), or the finished
            file's size / checksum differs (the bad file is deleted).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "drdeepchest-fetch/1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https/file only, card-validated)
            code = getattr(resp, "status", 200)
            if have and code != 206:
                have = 0  # server ignored the range: start over
            length = resp.headers.get("Content-Length")
            total = (int(length) + have) if length and length.isdigit() else expected_size
            with part.open("ab" if have else "wb") as out:
                done = have
                if progress:
                    progress(done, total)
                while block := resp.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise FetchError("models.error.download_failed", url=url, detail=str(exc)) from exc
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        if size > expected_size:
            part.unlink()
        raise FetchError("models.error.size_mismatch", url=url, size=size, expected=expected_size)
    actual = _hash_file(part)
    if expected_sha and actual != expected_sha:
        part.unlink()
        raise FetchError("models.error.checksum_mismatch", file=dest.name, actual=actual, expected=expected_sha)
    part.replace(dest)
    return dest


def _find_in_folder(card: ModelCard, source: Path, expected: str | None) -> Path:
    if source.is_file():
        return source
    direct = source / card.file
    if direct.is_file():
        return direct
    if expected:  # a renamed copy: match by checksum
        for candidate in sorted(source.rglob("*")):
            if candidate.is_file() and candidate.stat().st_size == (card.size_bytes or candidate.stat().st_size):
                if sha256_of(candidate) == expected:
                    return candidate
    raise FetchError("models.error.not_in_folder", file=card.file, folder=str(source))


def install(
    name: str,
    *,
    from_dir: Path | None = None,
    sha256: str | None = None,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    trust_unknown: bool = False,
) -> Path:
    """Install model ``name`` into the weights folder, from ``from_dir`` or its URLs.

    ``sha256`` gives the expected checksum for a card that states none (it cannot replace a card's
    own). When no checksum is known at all, the file is installed and its checksum pinned only with
    ``trust_unknown``; otherwise it is refused (nothing installed) with its checksum in the message.

    Raises:
        FetchError: not found, download failed on every mirror, checksum or size mismatch, or an
            unknown checksum without ``trust_unknown``.
        KeyError: unknown model name.
    """
    card = get_card(name)
    expected, _ = expected_sha256(card, settings)
    if sha256:
        if card.sha256 and sha256.lower() != card.sha256.lower():
            raise FetchError("models.error.checksum_override", name=name, expected=card.sha256)
        expected = card.sha256.lower() if card.sha256 else sha256.lower()
    if card.sha256:  # a pin can never stand in for the card's own checksum
        expected = card.sha256.lower()
    dest = install_dir(settings) / card.file
    if card.bundled:
        raise FetchError("models.error.bundled", name=name)
    if from_dir is not None:
        source = _find_in_folder(card, Path(from_dir).expanduser(), expected)
        if card.size_bytes is not None and source.stat().st_size != card.size_bytes:
            raise FetchError("models.error.size_mismatch", url=str(source), size=source.stat().st_size,
                             expected=card.size_bytes)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.copyfile(source, tmp)
        actual = _hash_file(tmp)  # the hash of the bytes that will be installed, not of the source
        if expected and actual != expected:
            tmp.unlink()
            raise FetchError("models.error.checksum_mismatch", file=source.name, actual=actual, expected=expected)
        if not expected and not trust_unknown:
            tmp.unlink()
            raise FetchError("models.error.unknown_checksum", name=name, actual=actual)
        tmp.replace(dest)
    else:
        if not card.urls:
            raise FetchError("models.error.no_source", name=name, command=card.train_command or "")
        staging = dest if expected or trust_unknown else dest.with_name(dest.name + ".unverified")
        errors: list[str] = []
        for url in card.urls:
            try:
                download(url, staging, expected_sha=expected, expected_size=card.size_bytes, progress=progress)
                break
            except FetchError as exc:
                errors.append(str(exc))
        else:
            raise FetchError("models.error.all_mirrors_failed", name=name, detail=" | ".join(errors))
        actual = _hash_file(staging)
        if staging != dest:  # no checksum known and not trusted: refuse, keep nothing
            staging.unlink()
            raise FetchError("models.error.unknown_checksum", name=name, actual=actual)
    if not card.sha256:
        pin(card, actual, settings)
    return dest


def install_bytes(name: str, data: bytes, settings: Settings | None = None) -> Path:
    """Install ``data`` (an uploaded weights file) as model ``name``, checked before it is ever loaded.

    Only a card that states its size and SHA-256 can be installed this way: the app never trusts an
    unknown file (an administrator uses ``python -m core.models fetch NAME --from FILE --trust-unknown``).
    The file is written beside its destination and moved into place only after its checksum matches.

    Raises:
        FetchError: bundled card, no checksum in the card, size or checksum mismatch.
        KeyError: unknown model name.
    """
    card = get_card(name)
    if card.bundled:
        raise FetchError("models.error.bundled", name=name)
    actual = hashlib.sha256(data).hexdigest()
    if not card.sha256:
        raise FetchError("models.error.unknown_checksum", name=name, actual=actual)
    if card.size_bytes is not None and len(data) != card.size_bytes:
        raise FetchError("models.error.size_mismatch", url=card.file, size=len(data), expected=card.size_bytes)
    if actual != card.sha256.lower():
        raise FetchError("models.error.checksum_mismatch", file=card.file, actual=actual, expected=card.sha256)
    dest = install_dir(settings) / card.file
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.upload.tmp")
    tmp.write_bytes(data)
    if _hash_file(tmp) != actual:
        tmp.unlink()
        raise FetchError("models.error.copy_failed", file=card.file)
    tmp.replace(dest)
    return dest


def progress_text(done: int, total: int | None, seconds: float) -> dict[str, float | str | None]:
    """Figures for a download progress bar: fraction, bytes done / total, speed and time left."""

    def mb(n: float) -> str:
        return f"{n / 2**20:.1f} MB"

    speed = done / seconds if seconds > 0 else 0.0
    left = (total - done) / speed if total and speed > 0 else None
    return {"fraction": min(1.0, done / total) if total else None, "done": mb(done), "total": mb(total) if total else "?",
            "speed": f"{speed / 2**20:.2f} MB/s", "left": f"{left:.0f} s" if left is not None else "?"}
