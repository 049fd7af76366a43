"""Hostile uploads through the page's path: N mutated files, the attack corpus, and each decoder's
worst case within the limits.

The page's path is :func:`core.imaging.compact.load_compact` (the loader in a worker process with a
time and memory limit: sniff, size checks, decode, validation, and the session copy made there)
followed by the chest gate's image-level checks (:func:`core.chest.gate.check_input`, no model) and
the shoulder gate's (:func:`core.shoulder.gate.facts_of` and ``check_input``: colour, camera and
DICOM tags read from the decoded copy, no second decode) on the image the pages analyse.

* ``fuzz``: ``--n`` uploads, each a seed from :func:`tests.imaging.corpus.seeds` (PNG gray/RGB/16-bit,
  JPEG baseline/gray/progressive, BMP, TIFF plain/deflate, WebP, HEIF, DICOM native 8/16-bit/RGB,
  RLE gray/RGB, JPEG 2000 lossless/lossy, JPEG baseline, deflated, and the real DICOMs in
  ``../shared/data/dicom`` when present) with 1-4 mutations: bit flips, truncation, byte
  insertion, deletion, overwrite, and header field mutation (DICOM image-module and transfer
  syntax elements, PNG IHDR with a fixed CRC, JPEG SOF/SOS fields, the first bytes of others).
* ``attacks``: each upload of issue 16 once (8.3-million-element DICOM, 2 GiB deflate bomb,
  20,000-scan progressive JPEG, pixel bombs, codestream bombs, the RLE panic DICOM).
* ``worst``: the largest valid upload per decoder (:func:`tests.imaging.corpus.worst_cases`).

Per upload: outcome (ok / refused with a translated error / crashed: the worker died or the gate
raised / escaped: an exception got out of the loader), caller wall time (send, decode, receive
the session copy), and the worker's peak resident memory growth while decoding (kernel high-water
mark; the app's own process only ever receives the session copy).

    python -m bench.bench_fuzz [--n 10000] [--seed 0] [--sections fuzz,attacks,worst] 2>/dev/null

(stderr carries the decoders' own noise: libtiff messages, the Rust panic's backtrace.)
Exit status 1 when an upload crashed or escaped, took over 5 s, or grew the worker by over 1 GiB.
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.imaging import ImageError  # noqa: E402
from core.imaging.compact import MAX_SIDE, CompactImage  # noqa: E402
from core.imaging.worker import decode_isolated  # noqa: E402
from tests.imaging import corpus  # noqa: E402

SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"
MIB = 1024 * 1024
INTERESTING_16 = (0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 31, 32, 33, 64, 255, 256, 0x7FFF, 0x8000, 0xFFFF)
INTERESTING_32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 65536, 30000)
DICOM_FIELDS = {  # (group, element) little-endian tag bytes of image-module elements (explicit VR, 2-byte length)
    "Rows": b"\x28\x00\x10\x00",
    "Columns": b"\x28\x00\x11\x00",
    "SamplesPerPixel": b"\x28\x00\x02\x00",
    "BitsAllocated": b"\x28\x00\x00\x01",
    "BitsStored": b"\x28\x00\x01\x01",
    "HighBit": b"\x28\x00\x02\x01",
    "PixelRepresentation": b"\x28\x00\x03\x01",
    "PlanarConfiguration": b"\x28\x00\x06\x00",
}
DICOM_STRINGS = {
    "PhotometricInterpretation": (b"\x28\x00\x04\x00", [b"MONOCHROME1 ", b"RGB ", b"YBR_FULL", b"PALETTE COLOR ", b"YBR_FULL_422", b"XYZ "]),
    "NumberOfFrames": (b"\x28\x00\x08\x00", [b"0 ", b"2 ", b"99", b"-1", b"1e9 "]),
    "TransferSyntaxUID": (b"\x02\x00\x10\x00", [
        b"1.2.840.10008.1.2\x00", b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.2\x00", b"1.2.840.10008.1.2.5\x00",
        b"1.2.840.10008.1.2.4.50", b"1.2.840.10008.1.2.4.90", b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.1.2.4.80",
    ]),
}


# ----------------------------------------------------------------------------- mutations


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """1-4 random mutations of ``data``; returns the bytes and the names of the mutations."""
    buf = bytearray(data)
    names = []
    for _ in range(rng.randint(1, 4)):
        op = rng.choices(["flip", "truncate", "insert", "delete", "overwrite", "header"], [30, 8, 12, 10, 12, 28])[0]
        names.append(op)
        size = len(buf)
        pos = rng.randrange(size) if size else 0
        if op == "flip" and size:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(size)] ^= 1 << rng.randrange(8)
        elif op == "truncate" and size:
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = rng.choice([bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64))),
                                       b"\xff" * rng.randint(1, 32), b"\x00" * rng.randint(1, 256),
                                       buf[pos : pos + rng.randint(1, 512)]])
        elif op == "delete":
            del buf[pos : pos + rng.randint(1, 256)]
        elif op == "overwrite" and size:
            chunk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
            buf[pos : pos + len(chunk)] = chunk
        elif op == "header":
            _header_field(buf, rng)
    return bytes(buf), names


def _header_field(buf: bytearray, rng: random.Random) -> None:
    """Set one header field to an interesting value, in the format's own layout."""
    if buf[128:132] == b"DICM" or b"\x28\x00\x10\x00" in buf[:4096]:
        if rng.random() < 0.7:
            tag = DICOM_FIELDS[rng.choice(list(DICOM_FIELDS))]
            at = buf.find(tag)
            if at >= 0 and at + 10 <= len(buf):
                buf[at + 8 : at + 10] = struct.pack("<H", rng.choice(INTERESTING_16))
                return
        name = rng.choice(list(DICOM_STRINGS))
        tag, values = DICOM_STRINGS[name]
        at = buf.find(tag)
        if at >= 0:
            length = int.from_bytes(buf[at + 6 : at + 8], "little")
            value = rng.choice(values)
            value = (value + b" " * length)[:length] if rng.random() < 0.7 else value
            buf[at + 6 : at + 8 + length] = struct.pack("<H", len(value)) + value
            return
    if buf[:8] == b"\x89PNG\r\n\x1a\n" and len(buf) >= 33:
        field = rng.choice([(16, ">I", INTERESTING_32), (20, ">I", INTERESTING_32), (24, ">B", (0, 1, 2, 4, 8, 16, 32)),
                            (25, ">B", (0, 2, 3, 4, 6, 7)), (28, ">B", (0, 1, 2))])
        offset, fmt, values = field
        struct.pack_into(fmt, buf, offset, rng.choice(values) & (0xFF if fmt == ">B" else 0xFFFFFFFF))
        if rng.random() < 0.8:  # a valid CRC takes the mutation past the checksum
            struct.pack_into(">I", buf, 29, zlib.crc32(bytes(buf[12:29])) & 0xFFFFFFFF)
        return
    if buf[:2] == b"\xff\xd8":
        markers = [i for i in range(2, min(len(buf) - 10, 1 << 16)) if buf[i] == 0xFF and buf[i + 1] in (0xC0, 0xC2, 0xC4, 0xDA, 0xDB)]
        if markers:
            at = rng.choice(markers) + 4 + rng.randrange(6)
            value = rng.choice(INTERESTING_16)
            if at + 2 <= len(buf):
                buf[at : at + 2] = struct.pack(">H", value)
            return
    if len(buf) > 4:
        at = rng.randrange(min(len(buf) - 4, 64))
        struct.pack_into("<I", buf, at, rng.choice(INTERESTING_32))


# ----------------------------------------------------------------------------- the page's path


def page_path(data: bytes, filename: str | None) -> dict[str, Any]:
    """One upload as the page handles it; never raises (except KeyboardInterrupt)."""
    from core.chest.gate import check_input
    from core.shoulder.gate import check_input as shoulder_check
    from core.shoulder.gate import facts_of

    start = time.perf_counter()
    row: dict[str, Any] = {"outcome": "?", "key": None}
    try:
        result, stats = decode_isolated(data, filename, compact=(MAX_SIDE, False))  # as load_compact
        row.update(seconds=stats.seconds, decode_seconds=stats.decode_seconds, peak=stats.peak_rss_growth)
        if stats.outcome in ("crashed", "escaped", "timeout"):
            row.update(outcome=stats.outcome, key=getattr(result, "key", None))
            return row
        if isinstance(result, ImageError):
            assert result.key.startswith("imaging.error.") and result.message("ko") and result.message("en")
            row.update(outcome="refused", key=result.key, reason=result.params.get("reason"))
            return row
        assert isinstance(result, CompactImage)
        image = result.to_input()
        px = image.pixels
        assert px.dtype == np.float32 and px.ndim in (2, 3) and np.isfinite(px).all()
        assert float(px.min()) >= 0.0 and float(px.max()) <= 1.0
        check_input(image)  # the gate's model-free checks, as on the page
        shoulder_check(image.gray(), facts_of(image))  # the shoulder page's gate
        row.update(outcome="ok", kept_bytes=result.nbytes)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - counted: a crash in the page's path
        row.update(outcome="crashed", key=f"{type(exc).__name__}: {str(exc)[:120]}")
    except BaseException as exc:  # noqa: BLE001 - counted: an uncaught BaseException
        row.update(outcome="escaped", key=type(exc).__name__)
    row.setdefault("seconds", time.perf_counter() - start)
    row["wall"] = time.perf_counter() - start
    return row


def _fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f} MiB"


def _seed_files() -> dict[str, tuple[bytes, str | None]]:
    files = {name: (data, None) for name, data in corpus.seeds().items()}
    if SHARED_DICOM.is_dir():
        for path in sorted(SHARED_DICOM.glob("*.dcm")):
            files[f"real:{path.name}"] = (path.read_bytes(), None)
    return files


def run_fuzz(n: int, seed: int, progress: int) -> int:
    files = _seed_files()
    names = sorted(files)
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    panics = 0
    by_seed: dict[str, Counter[str]] = {name: Counter() for name in names}
    seconds: list[float] = []
    decode_seconds: list[float] = []
    peaks: list[int] = []
    bad: list[tuple[str, list[str], str, str]] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    print(f"fuzz: {n} mutated uploads of {len(names)} seeds (seed {seed}); "
          f"seeds: {', '.join(names)}", flush=True)
    for i in range(n):
        name = names[i % len(names)] if i < len(names) else rng.choice(names)
        data, _ = files[name]
        mutated, ops = mutate(data, rng)
        filename = rng.choice([None, "upload.dcm", "image.jpg", "IM000001"])
        row = page_path(mutated, filename)
        outcomes[row["outcome"]] += 1
        by_seed[name][row["outcome"]] += 1
        if row["outcome"] == "refused":
            keys[row["key"]] += 1
            panics += row.get("reason") == "PanicException"
        seconds.append(row["seconds"])
        if row.get("decode_seconds") is not None:
            decode_seconds.append(row["decode_seconds"])
        if row.get("peak") is not None:
            peaks.append(row["peak"])
        if row["seconds"] > slowest[0]:
            slowest = (row["seconds"], f"{name} {'+'.join(ops)} ({len(mutated)} bytes) -> {row['outcome']} {row['key'] or ''}")
        if row["outcome"] in ("crashed", "escaped", "timeout"):
            bad.append((name, ops, row["outcome"], str(row["key"])))
        if progress and (i + 1) % progress == 0:
            print(f"  {i + 1}/{n}: {dict(outcomes)} max {max(seconds):.2f} s, {time.perf_counter() - start:.0f} s elapsed", flush=True)
    arr = np.array(seconds)
    dec = np.array(decode_seconds) if decode_seconds else np.zeros(1)
    print(f"\nfuzz results ({n} uploads, {time.perf_counter() - start:.0f} s):")
    print(f"  ok {outcomes['ok']} / refused {outcomes['refused']} / crashed {outcomes['crashed']} / "
          f"uncaught BaseException {outcomes['escaped']} / timed out {outcomes['timeout']}")
    print(f"  decoder panics (pyo3 PanicException) turned into the translated corrupt error: {panics}")
    print(f"  page-path seconds (send, decode, return the session copy): max {arr.max():.3f}, p99 {np.percentile(arr, 99):.3f}, "
          f"median {np.median(arr):.3f}")
    print(f"  decode seconds inside the worker: max {dec.max():.3f}, p99 {np.percentile(dec, 99):.3f}")
    print(f"  peak RSS growth per upload (worker high-water mark): max {_fmt_mib(max(peaks) if peaks else None)}, "
          f"p99 {_fmt_mib(int(np.percentile(peaks, 99)) if peaks else None)}")
    print(f"  slowest: {slowest[1]} {slowest[0]:.3f} s")
    print("  refusals by key: " + ", ".join(f"{k.removeprefix('imaging.error.')} {v}" for k, v in keys.most_common()))
    print("  per seed (ok/refused): " + ", ".join(f"{s} {c['ok']}/{c['refused']}" for s, c in by_seed.items()))
    for name, ops, outcome, key in bad[:20]:
        print(f"  BAD {outcome}: {name} {'+'.join(ops)}: {key}")
    return 1 if bad or arr.max() > 5.0 or (peaks and max(peaks) > 1024 * MIB) else 0


def run_attacks() -> int:
    attacks = [
        ("DICOM with 8.3 million data elements (66 MB)", lambda: corpus.many_elements_dicom(8_300_000)),
        ("deflated DICOM inflating to 2 GiB", lambda: corpus.deflate_bomb_dicom(2 << 30)),
        ("progressive JPEG with 20,000 scans", lambda: corpus.many_scans_jpeg(20_000)),
        ("PNG declaring 30000 x 30000", corpus.pixel_bomb_png),
        ("JPEG declaring 60000 x 60000", corpus.pixel_bomb_jpeg),
        ("DICOM declaring 30000 x 30000", corpus.pixel_bomb_dicom),
        ("DICOM declaring 4096 x 4096 x 4000 frames", lambda: corpus.pixel_bomb_dicom(4096, 4096, 4000)),
        ("64 x 64 DICOM holding a 12000 x 12000 JPEG 2000 frame", lambda: corpus.codestream_bomb_dicom("j2k", 12000)),
        ("64 x 64 DICOM holding a 12000 x 12000 JPEG frame", lambda: corpus.codestream_bomb_dicom("jpeg", 12000)),
        ("RLE DICOM that panics pylibjpeg-rle", corpus.panic_rle_dicom),
    ]
    print("\nattacks (each once through the page's path):")
    print(f"  {'upload':56} {'MB':>7} {'seconds':>8} {'peak RSS':>9}  result")
    failed = 0
    for label, build in attacks:
        data = build()
        row = page_path(data, "upload.dcm")
        result = row["outcome"] + (f" ({row['key'].removeprefix('imaging.error.')})" if row["key"] else "")
        failed += row["outcome"] in ("crashed", "escaped") or row["seconds"] > 5.0
        print(f"  {label:56} {len(data) / 1e6:7.1f} {row['seconds']:8.2f} {_fmt_mib(row.get('peak')):>9}  {result}", flush=True)
    return 1 if failed else 0


def run_worst() -> int:
    print("\nworst case per decoder (largest valid upload within the default limits):")
    print(f"  {'upload':46} {'MB':>6} {'build s':>8} {'page s':>7} {'decode s':>8} {'peak RSS':>9}  result")
    failed = 0
    for label, build in corpus.worst_cases().items():
        t0 = time.perf_counter()
        try:
            data = build()
        except Exception as exc:  # noqa: BLE001 - e.g. no HEIF encoder
            print(f"  {label:46} (not built: {type(exc).__name__})")
            continue
        built = time.perf_counter() - t0
        size = len(data) / 1e6
        row = page_path(data, "upload.dcm")
        del data
        result = row["outcome"] + (f" ({row['key'].removeprefix('imaging.error.')})" if row["key"] else "")
        failed += row["outcome"] != "ok" or row["seconds"] > 5.0 or (row.get("peak") or 0) > 1024 * MIB
        dec = row.get("decode_seconds")
        dec_text = f"{dec:.2f}" if dec is not None else "-"
        print(f"  {label:46} {size:6.1f} {built:8.1f} {row['seconds']:7.2f} {dec_text:>8} "
              f"{_fmt_mib(row.get('peak')):>9}  {result}", flush=True)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="mutated uploads (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sections", default="attacks,worst,fuzz", help="any of fuzz,attacks,worst")
    parser.add_argument("--progress", type=int, default=1000, help="print a line every N uploads (0: never)")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    import core.imaging.raster  # noqa: F401 - HEIF opener registered for the seeds

    decode_isolated(corpus.seeds()["png-gray"])  # start the decode server outside the measurements
    rc = 0
    if "attacks" in sections:
        rc |= run_attacks()
    if "worst" in sections:
        rc |= run_worst()
    if "fuzz" in sections:
        rc |= run_fuzz(args.n, args.seed, args.progress)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
