"""Chest X-ray benchmarks and measured figures (prints; nothing is asserted).

    python bench/bench_chest.py speed [--images 30] [--baseline-images 6]
    python bench/bench_chest.py gate
    python bench/bench_chest.py gate-view [--limit N]
    python bench/bench_chest.py zones
    python bench/bench_chest.py localisation [--images 200] [--rows first|odd|both]
    python bench/bench_chest.py findings [--images 1000]
    python bench/bench_chest.py trunk [--repeats 3]   # frozen vs eager trunk, alone and beside busy threads
    python bench/bench_chest.py all
    python bench/bench_chest.py              # (as `python -m bench` runs it) a quick speed run

* ``speed``: per-image time of load -> gate -> classify (+ all CAMs) -> all 18 heatmaps -> report
  text, and resident memory, side by side in one process with the plain way: torchxrayvision's README
  preprocessing + ``model(x)`` + one pytorch-grad-cam ``GradCAM`` call per finding, on the same
  weights. Uses the installed xrv weights when present, else a seeded **random-weight** DenseNet-121
  (same architecture and cost; the output says which).
* ``gate``: frontal accept rate on held-out real radiographs, lateral catch rate (cxr/laterals), non-chest catch rate on built colour photos / scalp-like photos /
  grey photos / documents and on radiograph-like non-chest images (shoulder phantoms, hand- and
  knee-like projections, pydicom's CT/MR/NM files), inverted catch rate, low-quality catch rate; then
  the same with the page's default model's pooled-feature check added (the committed starter here).
* ``gate-view`` (also run by ``gate``): view and orientation checks on held-out patients' films: real
  frontal pass rate (NIH and Kermany separately), mirrored copies warned, 90/180/270-degree copies named
  with the right angle, half-width crops warned as cropped, laterals named as lateral, colour photos
  refused without an override.
* ``zones``: lung-box IoU and containment of ``core.chest.zones`` against ``lung_boxes_xywh``.
* ``localisation``: share of positive-finding heatmap peaks inside the annotated lungs (ieee images),
  and how many of the others the text marks as "outside the lung fields".
* ``findings``: positives and uncertain findings per film on held-out No_Finding films and on films with
  findings (the multitask split's test patients), at the balanced operating point.

Needs ``../shared/data`` (or ``DRDC_SAMPLES_DIR``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.settings import PROJECT_ROOT, get_settings  # noqa: E402


def data_dir() -> Path:
    root = get_settings().samples_dir or ROOT.parent / "shared" / "data"
    if not (root / "cxr").is_dir():
        sys.exit(f"no data folder at {root}: set DRDC_SAMPLES_DIR")
    return root


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB from /proc (0 where unavailable)."""
    cur = peak = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def get_model(xrv_only: bool = False):
    """(model, description): the installed real model, else a seeded random-weight test model.

    ``xrv_only``: only torchxrayvision's DenseNet counts as installed (the speed bench compares
    against plain torchxrayvision on the same weights; its timings do not depend on the weights).
    """
    from core.chest.loader import XRV_NAME, availability, load_best_model, load_model
    from core.chest.model import build_test_model
    from core.models import registry

    if xrv_only and registry.installed_path(XRV_NAME) is not None:
        model = load_model(XRV_NAME, registry.require(XRV_NAME))
        return model, f"REAL weights: {model.title} ({model.version}, sha256 {model.sha256[:12]})"
    if not xrv_only and availability().name is not None:
        model = load_best_model()
        return model, f"REAL weights: {model.title} ({model.version}, sha256 {model.sha256[:12]})"
    return build_test_model(0), "RANDOM weights (seeded xrv DenseNet-121; real weights are not installed): figures that depend on what the model learned are NOT meaningful"


def bench_images(root: Path, n: int) -> list[Path]:
    nih = sorted((root / "cxr" / "nih14" / "images").glob("*.png"))
    cov = sorted((root / "cxr" / "covid" / "images").glob("*"))
    extra = sorted((root / "cxr" / "samples").glob("*")) + sorted((root / "dicom").glob("*.dcm"))
    picked = nih[:: max(1, len(nih) // (n // 2))][: n // 2] + cov[:: max(1, len(cov) // (n // 3))][: n // 3]
    return (picked + extra)[:n] if n > len(extra) else extra[:n]


def _median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):7.1f} ms" if values else "      -"


# --- speed -------------------------------------------------------------------------------------
def cmd_speed(args: argparse.Namespace) -> None:
    import torch
    import torchxrayvision as xrv
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from core.chest.analysis import analyse_bytes
    from core.chest.model import inference_threads, upsample_cam
    from core.chest.reading import OperatingPoint
    from core.llm import get_writer
    from core.llm.writer import report_stream

    root = data_dir()
    model, desc = get_model(xrv_only=True)
    print(f"model: {desc}")
    threads = inference_threads()
    torch.set_num_threads(threads)  # the same intra-op threads for both pipelines
    print(f"torch intra-op threads: {threads} (DRDC_TORCH_THREADS), cpu count: {os.cpu_count()}, load average before: {os.getloadavg()}")
    paths = bench_images(root, args.images)
    print(f"images: {len(paths)} ({', '.join(sorted({p.parent.name for p in paths}))})")
    op = OperatingPoint.of("balanced")
    writer = get_writer("structured")

    # the plain way on the same weights: an xrv DenseNet with the same state and xrv's op_threshs
    plain = xrv.models.DenseNet(weights=None, op_threshs=torch.tensor(xrv.models.model_urls["all"]["op_threshs"])).eval()
    plain.features.load_state_dict(model.net.features.state_dict())
    plain.classifier.load_state_dict(model.net.classifier.state_dict())
    transform = __import__("torchvision").transforms.Compose([xrv.datasets.XRayCenterCrop(), xrv.datasets.XRayResizer(224)])

    # warm up both
    warm = paths[0].read_bytes()
    analyse_bytes(warm, paths[0].name, model)
    with torch.inference_mode():
        plain(torch.zeros(1, 1, 224, 224))

    steps: dict[str, list[float]] = {k: [] for k in ("load", "gate", "classify_and_cams", "zones", "heatmaps", "report", "total")}
    classify_only: list[float] = []
    cpu_total: list[float] = []
    for path in paths:
        data = path.read_bytes()
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = analyse_bytes(data, path.name, model, override=True)
        t1 = time.perf_counter()
        heat = [upsample_cam(result.prediction.cams[c], 224, 224) for c in range(len(result.findings))] if result.analysed else []
        t2 = time.perf_counter()
        text = "".join(report_stream(result, op, "ko", writer)) if result.analysed else ""
        t3 = time.perf_counter()
        cpu_total.append(time.process_time() - c0)
        for name, seconds in result.timings:
            steps[name].append(seconds)
        steps["heatmaps"].append(t2 - t1)
        steps["report"].append(t3 - t2)
        steps["total"].append(t3 - t0)
        assert len(heat) == 18 and text
        # classification alone: the same preprocessing, forward pass and calibration, without CAMs
        tc = time.perf_counter()
        arr, _ = model.preprocess(result.image.pixels)
        x = torch.from_numpy(arr[None]).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():  # the same trunk the pipeline runs (frozen unless DRDC_TORCHSCRIPT=0)
            fmap = model.trunk(x) if model.trunk is not None else model.net.feature_map(x)
            model.calibration(model.net.classifier(model.net.pool(fmap)))
        classify_only.append(time.perf_counter() - tc)
    cur, peak = rss_mb()
    print("\nDr.DeepChest pipeline (median per image):")
    for name, values in steps.items():
        print(f"  {name:20s} {_median_ms(values)}")
    heat_cost = statistics.median(steps["classify_and_cams"]) + statistics.median(steps["heatmaps"])
    print(f"  classification alone (preprocess + forward + calibration): {_median_ms(classify_only)}")
    ratio = heat_cost / statistics.median(classify_only)
    print(f"  classify + all 18 heatmaps = {ratio:.3f} x classification alone (target <= 1.1)")
    print(f"  full analysis median {statistics.median(steps['total']):.3f} s wall (target <= 0.35 s); p90 {np.percentile(steps['total'], 90):.3f} s; "
          f"median CPU time {statistics.median(cpu_total):.3f} s")
    print(f"  load average after: {os.getloadavg()}")
    print(f"  RSS now {cur:.0f} MiB, peak {peak:.0f} MiB")

    base_steps: dict[str, list[float]] = {k: [] for k in ("load+preprocess", "classify", "gradcam x18", "total", "cpu total")}
    import skimage.io

    for path in [p for p in paths if p.suffix.lower() != ".dcm"][: args.baseline_images]:
        c0 = time.process_time()
        t0 = time.perf_counter()
        img = skimage.io.imread(path)
        img = xrv.datasets.normalize(img, 255)
        if img.ndim == 3:
            img = img.mean(2)
        x = torch.from_numpy(transform(img[None, ...])[None])
        t1 = time.perf_counter()
        with torch.inference_mode():
            plain(x)
        t2 = time.perf_counter()
        with GradCAM(model=plain, target_layers=[plain.features[-1]]) as cam:
            maps = [cam(input_tensor=x, targets=[ClassifierOutputTarget(c)])[0] for c in range(18)]
        t3 = time.perf_counter()
        assert len(maps) == 18
        base_steps["load+preprocess"].append(t1 - t0)
        base_steps["classify"].append(t2 - t1)
        base_steps["gradcam x18"].append(t3 - t2)
        base_steps["total"].append(t3 - t0)
        base_steps["cpu total"].append(time.process_time() - c0)
    cur2, peak2 = rss_mb()
    print(f"\nPlain torchxrayvision + pytorch-grad-cam, one GradCAM call per finding ({len(base_steps['total'])} images, median):")
    for name, values in base_steps.items():
        print(f"  {name:20s} {_median_ms(values)}")
    if base_steps["total"]:
        print(f"  classify + all 18 heatmaps = {(statistics.median(base_steps['classify']) + statistics.median(base_steps['gradcam x18'])) / statistics.median(base_steps['classify']):.1f} x classification alone")
        print(f"  speed-up of the full Dr.DeepChest analysis: {statistics.median(base_steps['total']) / statistics.median(steps['total']):.1f} x")
    print(f"  RSS now {cur2:.0f} MiB, peak {peak2:.0f} MiB (whole process: both pipelines loaded)")

    best, best_desc = get_model()
    if best.name != model.name:  # the page's default model here differs (e.g. the committed starter)
        analyse_bytes(warm, paths[0].name, best)
        totals = []
        for path in paths:
            t0 = time.perf_counter()
            result = analyse_bytes(path.read_bytes(), path.name, best, override=True)
            "".join(report_stream(result, op, "ko", writer)) if result.analysed else ""
            totals.append(time.perf_counter() - t0)
        print(f"\nThe page's default model here, {best_desc}: full analysis (load -> gate -> classify -> "
              f"{len(best.labels)} heatmaps -> report) median {statistics.median(totals):.3f} s, "
              f"p90 {np.percentile(totals, 90):.3f} s over {len(totals)} images")


# --- gate --------------------------------------------------------------------------------------
def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    a = arr if arr.dtype == np.uint8 else np.uint8(np.clip(arr, 0, 1) * 255 + 0.5)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def built_non_chest() -> dict[str, list[tuple[str, bytes]]]:
    """Colour photos, scalp-like photos, grey photos/scans and documents, built here."""
    import cv2
    import skimage.data
    from PIL import Image, ImageDraw, ImageFont

    from core.export.pdf import FONT_PATH

    colour_names = ["astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "retina", "rocket"]
    grey_names = ["camera", "brick", "cell", "clock", "coins", "grass", "gravel", "horse", "logo", "microaneurysms", "moon", "page", "text"]
    out: dict[str, list[tuple[str, bytes]]] = {"colour photo": [], "scalp-like photo": [], "grey photo / scan": [], "document": []}
    for name in colour_names:
        out["colour photo"].append((name, _png(getattr(skimage.data, name)()[..., :3])))
    for name in colour_names:  # the same photos in grey: only the out-of-distribution score can catch them
        rgb = getattr(skimage.data, name)()[..., :3].astype(np.float32) / 255
        out["grey photo / scan"].append((f"{name}-grey", _png(rgb.mean(axis=2))))
    for name in grey_names:
        img = getattr(skimage.data, name)()
        img = img.astype(np.float32) / max(1.0, float(img.max()))
        out["grey photo / scan"].append((name, _png(img if img.ndim == 2 else img[..., :3].mean(axis=2))))
    rng = np.random.default_rng(0)
    for i in range(12):  # scalp close-ups: skin tone, hair strands, parting line
        h, w = 480, 640
        skin = np.array([rng.uniform(180, 235), rng.uniform(140, 190), rng.uniform(120, 170)], np.float32)
        img = np.ones((h, w, 3), np.float32) * skin + rng.normal(0, 6, (h, w, 3))
        for _ in range(int(rng.integers(150, 600))):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            ang = rng.uniform(0, np.pi)
            length = rng.uniform(30, 200)
            x1, y1 = int(x0 + length * np.cos(ang)), int(y0 + length * np.sin(ang))
            shade = float(rng.uniform(10, 70))
            cv2.line(img, (x0, y0), (x1, y1), (shade, shade * 0.8, shade * 0.7), int(rng.integers(1, 4)), cv2.LINE_AA)
        img = cv2.GaussianBlur(np.clip(img, 0, 255), (0, 0), 0.8)
        out["scalp-like photo"].append((f"scalp{i}", _png(np.uint8(img))))
        out["grey photo / scan"].append((f"scalp{i}-grey", _png(np.uint8(img.mean(axis=2)))))
    font = ImageFont.truetype(str(FONT_PATH), 18)
    words = ["검사", "결과", "report", "patient", "흉부", "lorem", "ipsum", "2024", "서명", "invoice"]
    for i in range(15):
        page = Image.new("L", (600 + 40 * (i % 3), 800), 255)
        draw = ImageDraw.Draw(page)
        y = 40
        while y < 760:
            if rng.random() < 0.15:
                draw.rectangle([40, y, 540, y + int(rng.integers(30, 120))], outline=0, width=2)
                y += 130
                continue
            draw.text((40, y), " ".join(words[j] for j in rng.integers(0, len(words), 8)), fill=0, font=font)
            y += 28
        out["document"].append((f"doc{i}", _png(np.asarray(page))))
    return out


PYDICOM_NON_CHEST = ("693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm", "JPEG2000.dcm", "examples_overlay.dcm")


def built_radiograph_like() -> dict[str, list[tuple[str, bytes]]]:
    """Grey, radiograph-like images that are not chest films, as PNG (no DICOM tags to help the gate).

    * the shoulder page's demonstration phantom (``core.shoulder.phantom.demo_case``: a projected humeral
      shaft) and 5 phantoms with other diameters, soft tissue and axis angles;
    * 6 hand-like and 6 knee-like projections (``tests/chest/phantoms.py``);
    * real non-chest medical images bundled with pydicom (two head CT slices, a whole-body bone scan, an
      abdominal MR), their display pixels only.
    """

    import pydicom

    from core.imaging import load_image
    from core.shoulder.phantom import PhantomSpec, demo_case, render_phantom
    from tests.chest.phantoms import hand_like, knee_like

    out: dict[str, list[tuple[str, bytes]]] = {"shoulder phantom": [("demo_case", _png(demo_case()[0].image))]}
    rng = np.random.default_rng(1)
    for i in range(5):
        spec = PhantomSpec(shape=(640, 480), outer_d_mm=float(rng.uniform(18, 26)), inner_d_mm=float(rng.uniform(10, 16)),
                           axis_deg=float(rng.uniform(-25, 25)), arm_d_mm=float(rng.uniform(60, 110)), seed=i)
        out["shoulder phantom"].append((f"phantom{i}", _png(render_phantom(spec).image)))
    out["hand-like"] = [(f"hand{i}", _png(hand_like(i))) for i in range(6)]
    out["knee-like"] = [(f"knee{i}", _png(knee_like(i))) for i in range(6)]
    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    out["CT/MR/NM (pydicom)"] = [
        (name, _png(np.asarray(load_image((folder / name).read_bytes(), name).gray())))
        for name in PYDICOM_NON_CHEST if (folder / name).is_file()
    ]
    return out


def cmd_gate(args: argparse.Namespace) -> None:
    from dataclasses import replace

    import cv2

    from core.chest.analysis import inverted as negative
    from core.chest.gate import check_input, image_reference
    from core.imaging import load_image
    from core.training.gate_fit import frontal_split

    root = data_dir()
    ref = image_reference()
    print(f"image reference: {'loaded' if ref else 'MISSING'}; threshold {ref.threshold:.3f}; fitted on {ref.meta.get('n_fit')} images" if ref else "image reference missing")
    split = frontal_split(root)
    held = list(split.held_out) + sorted((root / "dicom").glob("*.dcm"))
    from core.training.view_fit import lateral_films

    laterals = [path for _, path, _ in lateral_films(root)]

    def decide(img) -> tuple[str, set[str]]:
        res = check_input(img)
        return res.decision, {i.code for i in res.issues}

    frontal = []
    inverted = []
    for i, path in enumerate(held):
        img = load_image(path.read_bytes(), path.name)
        decision, codes = decide(img)
        if path.name == "fake_monochrome1.dcm":  # stored values equal the MONOCHROME2 file: displays as a negative
            inverted.append(("inverted" in codes, decision))
            continue
        frontal.append((decision, codes, path))
        if i % 3 == 0:
            d2, c2 = decide(negative(img))
            inverted.append(("inverted" in c2, d2))
    n = len(frontal)
    accepted = sum(d != "refuse" for d, _, _ in frontal)
    clean = sum(d == "accept" for d, _, _ in frontal)
    print(f"\nFrontal radiographs (held-out patients + samples + DICOM): {n}")
    print(f"  not refused: {accepted}/{n} = {accepted / n:.1%}   accepted without warning: {clean}/{n} = {clean / n:.1%}")
    refused = [(p.parent.parent.name + "/" + p.name, sorted(c)) for d, c, p in frontal if d == "refuse"]
    for name, codes in refused[:10]:
        print(f"    refused: {name} {codes}")
    warned: dict[str, int] = {}
    for _decision, c, _ in frontal:
        for code in c:
            warned[code] = warned.get(code, 0) + 1
    print(f"  issue codes on frontals: {warned}")
    print("  (the cxr/covid films of patients with even sha256(source:patient) helped choose the view network's "
          "one_field_alone threshold: bench_chest.py gate-view reports films never used to choose anything)")
    print(f"\nLateral radiographs (cxr/laterals): {len(laterals)}")
    if laterals:
        lat = [decide(load_image(p.read_bytes(), p.name)) for p in laterals]
        print(f"  caught (warned or refused): {sum(d != 'accept' for d, _ in lat)}/{len(laterals)}; named lateral "
              f"{sum('lateral' in c for _, c in lat)}/{len(laterals)} (by view and held-out split: bench_chest.py gate-view)")
    caught_inv = sum(flag for flag, _ in inverted)
    print(f"\nInverted radiographs (every 3rd held-out frontal negated, + fake_monochrome1.dcm): {caught_inv}/{len(inverted)} flagged 'inverted' = {caught_inv / len(inverted):.1%}; refused {sum(d == 'refuse' for _, d in inverted)}/{len(inverted)}")
    print("\nNon-chest images (built):")
    tot = tot_c = 0
    non_chest, radiograph_like = built_non_chest(), built_radiograph_like()  # built once, used twice
    for kind, items in non_chest.items():
        results = [decide(load_image(data, name + ".png")) for name, data in items]
        caught = sum(d == "refuse" for d, _ in results)
        tot += len(items)
        tot_c += caught
        missed = [name for (name, _), (d, _) in zip(items, results, strict=True) if d != "refuse"]
        print(f"  {kind:18s} refused {caught}/{len(items)} = {caught / len(items):.1%}" + (f"  (missed: {', '.join(missed)})" if missed else ""))
    print(f"  all non-chest       refused {tot_c}/{tot} = {tot_c / tot:.1%}")
    quality = {"blurred (sigma 6 px at 512)": [], "low contrast (x0.08)": [], "tiny (100 px)": []}
    for path in held[::20]:
        img = load_image(path.read_bytes(), path.name)
        px = np.asarray(img.gray())
        s = max(px.shape) / 512
        quality["blurred (sigma 6 px at 512)"].append(decide(replace(img, pixels=np.ascontiguousarray(cv2.GaussianBlur(px, (0, 0), 6 * s)))))
        quality["low contrast (x0.08)"].append(decide(replace(img, pixels=np.ascontiguousarray(0.5 + (px - 0.5) * 0.08, dtype=np.float32))))
        quality["tiny (100 px)"].append(decide(replace(img, pixels=np.ascontiguousarray(cv2.resize(px, (100, 100), interpolation=cv2.INTER_AREA)))))
    print("\nLow quality (built from held-out frontals):")
    for kind, results in quality.items():
        caught = sum(d == "refuse" for d, _ in results)
        print(f"  {kind:28s} refused {caught}/{len(results)} = {caught / len(results):.1%}")
    print("\nRadiograph-like non-chest images (built; image-level checks alone):")
    for kind, items in radiograph_like.items():
        results = [decide(load_image(data, name + ".png")) for name, data in items]
        print(f"  {kind:20s} refused {sum(d == 'refuse' for d, _ in results)}/{len(items)}, "
              f"warned {sum(d == 'warn' for d, _ in results)}/{len(items)}")
    gate_view(root, non_chest)
    gate_features(root, split.fit, {**non_chest, **radiograph_like})


def gate_view(root: Path, non_chest: dict[str, list[tuple[str, bytes]]] | None = None, limit: int = 0) -> None:
    """View and orientation checks of the gate on held-out films (``core.chest.view``): real frontal pass
    rates per source, mirrored, rotated, half-width crops, laterals and colour photos.

    Frontal films: the *test* patients of :func:`core.training.view_fit.view_split` (never used to train the
    view network or choose its thresholds); NIH ChestX-ray14 ``nih14`` films also held out from the
    image-level statistics (odd SHA-256 parity, as :func:`core.training.gate_fit.frontal_split`).
    ``limit``: at most this many films per source (0: all).
    """
    from dataclasses import replace

    from core.chest.analysis import rotated
    from core.chest.gate import check_input, view_net_or_issue
    from core.imaging import load_image
    from core.training.gate_fit import parity
    from core.training.view_fit import lateral_films, view_split

    net, problem = view_net_or_issue()
    print("\n--- view and orientation (core.chest.view)")
    if net is None:
        print(f"  view network unavailable: {problem.message('en') if problem else ''}")
        return
    meta = net.meta
    print(f"  network: {meta.get('kind')}, trained on {meta.get('train_films')} films of training patients; "
          f"thresholds {json.dumps({k: round(v, 3) for k, v in meta.get('thresholds', {}).items()})} = {meta.get('threshold_rule')}")
    split = view_split(root)
    test = [f for f in split["test"] if f.source != "nih14" or parity(f.patient) == 1]
    groups = {"NIH (adult)": [f for f in test if f.group == "nih"], "Kermany (paediatric)": [f for f in test if f.group == "kermany"]}
    if limit:
        groups = {k: v[:: max(1, len(v) // limit)][:limit] for k, v in groups.items()}
    print(f"  held-out split: {meta.get('split')}; test patients' films, nih14 also odd sha256 parity (held out from the image statistics)")

    def codes(res) -> set[str]:
        return {i.code for i in res.issues}

    view_codes = {"rotated", "mirrored", "lateral", "cropped"}
    t0 = time.perf_counter()
    n_calls = 0
    for name, films in groups.items():
        stats = {k: 0 for k in ("pass", "clean", "no_view_issue", "mirror", "rot_ok", "rot_any", "upright_after", "rot_passed", "crop", "crop_inverted", "crop_refused", "fp_mirror", "fp_lateral", "fp_rotated")}
        first_refused = []
        for film in films:
            img = load_image(film.path.read_bytes(), film.path.name)
            px = np.asarray(img.pixels)
            res = check_input(img)
            c = codes(res)
            stats["pass"] += res.decision != "refuse"
            stats["clean"] += res.decision == "accept"
            stats["no_view_issue"] += not (c & view_codes)
            stats["fp_mirror"] += "mirrored" in c
            stats["fp_lateral"] += "lateral" in c
            stats["fp_rotated"] += "rotated" in c
            if res.decision == "refuse" and len(first_refused) < 5:
                first_refused.append(f"{film.path.name} {sorted(c)}")
            stats["mirror"] += "mirrored" in codes(check_input(replace(img, pixels=np.ascontiguousarray(px[:, ::-1]))))
            for cw in (90, 180, 270):
                turned = check_input(rotated(img, cw))
                stats["rot_any"] += turned.rotation is not None
                stats["rot_passed"] += turned.decision != "refuse"
                if turned.rotation is not None and dict(next(i for i in turned.issues if i.code == "rotated").params)["angle"] == str(cw):
                    stats["rot_ok"] += 1
                    stats["upright_after"] += check_input(rotated(rotated(img, cw), turned.rotation)).decision != "refuse"
            w = px.shape[1]
            for half in (px[:, : w // 2], px[:, w // 2:]):
                cut = check_input(replace(img, pixels=np.ascontiguousarray(half)))
                stats["crop"] += "cropped" in codes(cut)
                stats["crop_inverted"] += "inverted" in codes(cut)
                stats["crop_refused"] += cut.decision == "refuse"
            n_calls += 9
        n = len(films)
        print(f"\n  {name}: {n} held-out films")
        print(f"    real frontal not refused {stats['pass']}/{n} = {stats['pass'] / n:.1%}; no view issue (rotated/mirrored/lateral/cropped) "
              f"{stats['no_view_issue']}/{n} = {stats['no_view_issue'] / n:.1%}; accepted without any warning {stats['clean'] / n:.1%}")
        for line in first_refused:
            print(f"      refused: {line}")
        print(f"    upright real films warned mirrored {stats['fp_mirror']} ({stats['fp_mirror'] / n:.1%}), called lateral "
              f"{stats['fp_lateral']} ({stats['fp_lateral'] / n:.1%}), called rotated {stats['fp_rotated']}")
        print(f"    mirrored copies warned 'mirrored': {stats['mirror']}/{n} = {stats['mirror'] / n:.1%}")
        print(f"    rotated copies (90/180/270 clockwise) named 'rotated' with the right angle: {stats['rot_ok']}/{3 * n} = {stats['rot_ok'] / (3 * n):.1%} "
              f"(named rotated at all {stats['rot_any'] / (3 * n):.1%}; not refused at all {stats['rot_passed']}); "
              f"turned back as offered, not refused: {stats['upright_after']}/{stats['rot_ok']}")
        print(f"    half-width crops (left and right halves) warned 'cropped': {stats['crop']}/{2 * n} = {stats['crop'] / (2 * n):.1%}; "
              f"called inverted {stats['crop_inverted']}; refused {stats['crop_refused']}")
    print(f"  ({n_calls} gate calls, {1000 * (time.perf_counter() - t0) / max(1, n_calls):.1f} ms per call wall time)")

    films = lateral_films(root)
    if films:
        print(f"\n  Lateral films (cxr/laterals, {len(films)} films of {len({p for p, _, _ in films})} patients; never used for training):")
        for half in ("choose", "report", "all"):
            chosen = [f for f in films if half in ("all", f[2])]
            res = [check_input(load_image(path.read_bytes(), path.name)) for _, path, _ in chosen]
            named = sum("lateral" in codes(r) for r in res)
            print(f"    {half:7s} half ({len(chosen):2d} films): named 'lateral' {named}/{len(chosen)} = {named / len(chosen):.1%}; "
                  f"refused {sum(r.decision == 'refuse' for r in res)}/{len(chosen)}"
                  + (f"; missed: {', '.join(f'{path.name} {sorted(codes(r))}' for (_, path, _), r in zip(chosen, res, strict=True) if 'lateral' not in codes(r))}"
                     if half == "all" else ""))
        print("    (thresholds are chosen on frontal films only; the 'choose' half was looked at while designing the method, the 'report' half was not)")
    if non_chest:
        photos = [item for kind in ("colour photo", "scalp-like photo") for item in non_chest.get(kind, [])]
        res = [check_input(load_image(data, name + ".png")) for name, data in photos]
        print(f"\n  Colour photos (built): refused {sum(r.decision == 'refuse' for r in res)}/{len(res)}, "
              f"of which 'analyse anyway' offered: {sum(r.can_override for r in res)}")


def cmd_gate_view(args: argparse.Namespace) -> None:
    gate_view(data_dir(), built_non_chest(), limit=args.limit)


def gate_features(root: Path, image_fit: tuple[Path, ...], sets: dict[str, list[tuple[str, bytes]]]) -> None:
    """The whole gate (image-level + the model's pooled-feature check) for the page's default model;
    ``sets``: the built non-chest images by kind (name, PNG bytes)."""
    from core.chest.analysis import analyse
    from core.chest.analysis import inverted as negative
    from core.chest.gate import (
        UNUSUAL_FRACTION,
        GateResult,
        check_features,
        check_input,
        feature_reference,
    )
    from core.chest.reading import OperatingPoint
    from core.imaging import load_image
    from core.training.gate_fit import feature_split

    model, desc = get_model()
    ref = None if model.is_test_model else feature_reference(model)
    print(f"\n--- feature check of the page's default model: {desc}")
    if ref is None:
        print(f"  no verified feature statistics for {model.name}: only the image-level checks run "
              f"(python -m core.training.gate_fit fit-features --model {model.name})")
        return
    meta = ref.meta
    print(f"  statistics: k {meta.get('k')}, fitted on {meta.get('n_fit')} films, threshold {ref.threshold:.3f} "
          f"(warn from {UNUSUAL_FRACTION * ref.threshold:.3f}) = {meta.get('threshold_rule')}, {meta.get('n_tune')} tuning films")
    print(f"  split: {meta.get('split')}")

    def both(img) -> tuple[GateResult, GateResult]:
        return check_input(img), check_features(model.predict(img), ref)

    def whole(image_gate: GateResult, feature_gate: GateResult) -> str:
        return image_gate.merge(feature_gate).decision

    split = feature_split(root)
    fit_paths = set(image_fit)
    test = list(split.test) + [root / "dicom" / "siim_pneumothorax_sample.dcm"]
    tune_f = [check_features(model.predict(load_image(p.read_bytes(), p.name)), ref).decision for p in split.tune]
    print(f"  tuning films (thresholds chosen here): features not refused {sum(d != 'refuse' for d in tune_f)}/{len(tune_f)} "
          f"= {np.mean([d != 'refuse' for d in tune_f]):.1%}")
    rows, inverted = [], []
    for i, path in enumerate(test):
        img = load_image(path.read_bytes(), path.name)
        g_img, g_feat = both(img)
        rows.append((path, g_img.decision, g_feat.decision, whole(g_img, g_feat), g_feat.score("ood_features")))
        if i % 3 == 0:
            inverted.append(both(negative(img)))
    fake = root / "dicom" / "fake_monochrome1.dcm"
    if fake.is_file():
        inverted.append(both(load_image(fake.read_bytes(), fake.name)))
    n = len(rows)
    print(f"\n  Real frontal films never used to fit or tune (feature test split + SIIM DICOM): {n}")
    print(f"    features alone: not refused {sum(r[2] != 'refuse' for r in rows)}/{n} = {np.mean([r[2] != 'refuse' for r in rows]):.1%}, "
          f"no feature warning {np.mean([r[2] == 'accept' for r in rows]):.1%}")
    both_held = [r for r in rows if r[0] not in fit_paths]
    m = len(both_held)
    print(f"    whole gate on the {m} of them also held out from the image-level statistics: not refused "
          f"{sum(r[3] != 'refuse' for r in both_held)}/{m} = {np.mean([r[3] != 'refuse' for r in both_held]):.1%}, "
          f"accepted without warning {np.mean([r[3] == 'accept' for r in both_held]):.1%} (image-level checks alone: "
          f"{np.mean([r[1] != 'refuse' for r in both_held]):.1%} / {np.mean([r[1] == 'accept' for r in both_held]):.1%})")
    for path, _, fd, _, score in sorted(rows, key=lambda r: -r[4])[:5]:
        print(f"      highest feature scores: {path.parent.parent.name}/{path.name} {score:.2f} ({fd})")
    inv_all = [whole(a, b) == "refuse" for a, b in inverted]
    print(f"  Inverted films (every 3rd of them negated + fake_monochrome1.dcm): whole gate refused "
          f"{sum(inv_all)}/{len(inverted)} = {np.mean(inv_all):.1%} (image-level alone "
          f"{sum(a.decision == 'refuse' for a, _ in inverted)}, features alone {sum(b.decision == 'refuse' for _, b in inverted)})")
    print("\n  Non-chest images: refused by the image-level checks alone -> by the whole gate (features alone)")
    tot = tot_img = tot_all = 0
    for kind, items in sets.items():
        res = [both(load_image(data, name + ".png")) for name, data in items]
        r_img = sum(a.decision == "refuse" for a, _ in res)
        r_feat = sum(b.decision == "refuse" for _, b in res)
        r_all = sum(whole(a, b) == "refuse" for a, b in res)
        w_all = sum(whole(a, b) == "warn" for a, b in res)
        missed = [name for (name, _), (a, b) in zip(items, res, strict=True) if whole(a, b) != "refuse"]
        tot, tot_img, tot_all = tot + len(items), tot_img + r_img, tot_all + r_all
        scores = [b.score("ood_features") or 0.0 for _, b in res]
        print(f"    {kind:20s} {r_img:2d}/{len(items)} -> {r_all:2d}/{len(items)} refused ({r_feat}/{len(items)} by features; "
              f"feature scores {min(scores):.1f}-{max(scores):.1f})" + (f", warned {w_all}" if w_all else "")
              + (f"  (not refused: {', '.join(missed)})" if missed else ""))
    print(f"    {'all non-chest':20s} {tot_img}/{tot} = {tot_img / tot:.1%} -> {tot_all}/{tot} = {tot_all / tot:.1%} refused")
    demo = load_image(sets["shoulder phantom"][0][1], "demo_case.png")
    forced = analyse(demo, model, feature_ref=None)  # what the page showed before the feature check
    g_img, g_feat = both(demo)
    likely = {preset: [f.label for f in forced.findings if OperatingPoint.of(preset).status(f.probability) == "positive"]
              for preset in ("sensitive", "balanced", "specific")}
    print(f"\n  Shoulder demo phantom: image-level alone {g_img.decision} (score {g_img.score('ood_image'):.2f}, refuse "
          f">= {g_img.score('ood_image_threshold'):.2f}); whole gate {whole(g_img, g_feat)} (feature score "
          f"{g_feat.score('ood_features'):.2f} vs {ref.threshold:.2f}). Without the feature check {model.name} showed "
          + "; ".join(f"{len(v)} 'likely' findings at the {k} preset" for k, v in likely.items())
          + f" ({', '.join(likely['sensitive'])})")


# --- zones and localisation --------------------------------------------------------------------
def _boxed_rows(root: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader((root / "cxr" / "covid" / "metadata.csv").open(encoding="utf-8")))
    return [r for r in rows if r["lung_boxes_xywh"].startswith("[[")]


def cmd_zones(args: argparse.Namespace) -> None:
    from core.chest.zones import Box, estimate_lung_fields
    from core.imaging import load_image

    root = data_dir()
    rows = _boxed_rows(root)
    for part, subset in (("held-out (odd rows)", rows[1::2]), ("template rows (even)", rows[0::2])):
        ious, cover, inside = [], [], []
        for r in subset:
            img = load_image((root / "cxr" / "covid" / "images" / r["image"]).read_bytes(), r["image"])
            lungs = estimate_lung_fields(np.asarray(img.gray()))
            truth = sorted(json.loads(r["lung_boxes_xywh"]), key=lambda b: b[0])
            for ours, (x, y, w, h) in zip((lungs.right, lungs.left), truth, strict=True):
                gt = Box(x, y, w, h)
                ious.append(ours.iou(gt))
                cover.append(ours.intersection(gt) / (w * h))
                inside.append(ours.intersection(gt) / (ours.w * ours.h))
        ious_a = np.array(ious)
        print(f"{part}: {len(subset)} images, {len(ious)} lungs: IoU mean {ious_a.mean():.3f} median {np.median(ious_a):.3f}; "
              f"IoU<0.5 {np.mean(ious_a < 0.5):.1%}; true box covered {np.mean(cover):.1%}; estimate inside true box {np.mean(inside):.1%}")


def cmd_localisation(args: argparse.Namespace) -> None:
    from core.chest.reading import OperatingPoint
    from core.chest.zones import EDGE_MARGIN

    root = data_dir()
    model, desc = get_model()
    print(f"model: {desc}")
    op = OperatingPoint.of("balanced")
    boxed = _boxed_rows(root)
    # the lung-box template and its edge margin were fitted on the even rows: the odd rows are held out
    sets = {"first": boxed[: args.images], "odd": boxed[1::2][: args.images]}
    rows = getattr(args, "rows", "both")
    for part in (rows,) if rows != "both" else ("first", "odd"):
        _localisation(sets[part], part, root, model, op)
    print(f"  edge margin (median edge error of the lung-box estimate on the template rows): {EDGE_MARGIN}")


def _localisation(rows: list[dict[str, str]], part: str, root: Path, model: object, op: object) -> None:
    from core.chest.analysis import analyse
    from core.chest.zones import Box
    from core.imaging import load_image

    peaks_in = peaks = 0
    est_in = flagged = edged = hedged_hits = 0
    chance = []
    per_label: dict[str, list[int]] = {}
    for r in rows:
        img = load_image((root / "cxr" / "covid" / "images" / r["image"]).read_bytes(), r["image"])
        result = analyse(img, model, override=True, feature_ref=None)
        if not result.analysed:
            continue
        truth = [Box(*b) for b in json.loads(r["lung_boxes_xywh"])]
        crop = result.prediction.crop
        square = Box(crop.left, crop.top, crop.size, crop.size)
        chance.append(sum(b.intersection(square) for b in truth) / (crop.size * crop.size))
        said = {fact.label: fact for fact in result.facts(op).findings}
        for f in result.reported_findings:
            if result.status(f, op) != "positive" or f.location is None or f.region in ("heart", "mediastinum", "diaphragm"):
                continue
            px, py = f.location.peak
            hit = any(b.contains(px, py) for b in truth)
            fact = said.get(f.label)
            peaks += 1
            peaks_in += hit
            est_in += f.location.peak_in_lung
            flagged += (not hit) and fact is not None and fact.outside
            edged += (not hit) and fact is not None and fact.edge
            hedged_hits += hit and fact is not None and fact.edge
            per_label.setdefault(f.label, []).append(int(hit))
    name = {"first": f"the first {len(rows)}", "odd": f"{len(rows)} held-out (odd)"}[part]
    print(f"{name} ieee images with lung boxes; positive lung/pleura/bone findings at the balanced point: {peaks}")
    if peaks:
        missed = peaks - peaks_in
        print(f"  heatmap peaks inside the annotated lungs: {peaks_in}/{peaks} = {peaks_in / peaks:.1%} "
              f"(inside the estimated lung boxes: {est_in / peaks:.1%}); chance level (lung share of the crop): {np.mean(chance):.1%}")
        print(f"  of the {missed} peaks outside the annotated lungs, the text says 'outside the lung fields' for {flagged} and "
              f"'at the edge of the estimated lung field: location approximate' for {edged}; says neither for {missed - flagged - edged}")
        print(f"  inside or said outside: {(peaks_in + flagged) / peaks:.1%}; inside or said outside / at the edge: "
              f"{(peaks_in + flagged + edged) / peaks:.1%}")
        print(f"  cost of the edge hedge: {hedged_hits} of the {peaks_in} peaks inside the annotated lungs are also called "
              f"'location approximate' ({hedged_hits / max(peaks_in, 1):.1%})")
        for label, hits in sorted(per_label.items(), key=lambda kv: -len(kv[1])):
            print(f"    {label:28s} {sum(hits)}/{len(hits)}")


def cmd_findings(args: argparse.Namespace) -> None:
    """Positives and uncertain findings per film on held-out patients (the multitask split's test
    patients: never used for training or choosing), through the page's analysis path."""
    from core.chest.analysis import analyse
    from core.chest.reading import OperatingPoint
    from core.imaging import load_image
    from core.training.multitask import split_sets

    root = data_dir()
    model, desc = get_model()
    print(f"model: {desc}")
    test = split_sets(root)["nih-test"].samples[: args.images]
    for preset in ("balanced",):
        op = OperatingPoint.of(preset)
        rows = {"no_finding": [], "with_findings": []}
        for s in test:
            result = analyse(load_image(Path(s.path).read_bytes(), Path(s.path).name), model, override=True)
            if not result.analysed:
                continue
            c = result.counts(op)
            rows["no_finding" if s.finding == "No Finding" else "with_findings"].append((c["positive"], c["uncertain"]))
        for kind, vals in rows.items():
            if not vals:
                continue
            arr = np.array(vals)
            print(f"{preset}: held-out {kind} films {len(arr)}: positives median {np.median(arr[:, 0]):.0f} "
                  f"(mean {arr[:, 0].mean():.2f}), uncertain median {np.median(arr[:, 1]):.0f} (mean {arr[:, 1].mean():.2f})")


def cmd_trunk(args: argparse.Namespace) -> None:
    """The installed 14-finding model's analysis per film with its trunk run eagerly and frozen
    (TorchScript, :class:`core.chest.frozen.FrozenTrunk`), alone and while other threads of the same
    process run Python (as other people's page scripts do in a replica): the eager trunk returns to
    Python between operations and waits for the interpreter lock each time."""
    import threading

    from core.chest import loader
    from core.chest.analysis import analyse
    from core.imaging.compact import load_compact

    films = sorted((PROJECT_ROOT / "assets" / "demo" / "chest").glob("*.png"))
    images = [load_compact(f.read_bytes(), f.name).to_input() for f in films]
    print(f"{len(images)} demo films x {args.repeats} passes; analyse() incl. input check, 5 views, heatmaps")
    for frozen in (False, True):
        os.environ["DRDC_TORCHSCRIPT"] = "1" if frozen else "0"
        model = loader.load_best_model()
        for img in images:  # warm: the frozen copy is made on the first film
            analyse(img, model)
        for busy, switch in ((0, 0.005), (2, 0.005), (2, 0.001)):
            sys.setswitchinterval(switch)
            stop = threading.Event()

            def spin(stop: threading.Event = stop) -> None:
                x = 0
                while not stop.is_set():
                    for i in range(1000):
                        x += i * i

            threads = [threading.Thread(target=spin, daemon=True) for _ in range(busy)]
            for th in threads:
                th.start()
            times = []
            for _ in range(args.repeats):
                for img in images:
                    t0 = time.perf_counter()
                    analyse(img, model)
                    times.append(time.perf_counter() - t0)
            stop.set()
            for th in threads:
                th.join()
            times.sort()
            sys.setswitchinterval(0.005)
            print(f"trunk {'frozen' if frozen else 'eager '}, {busy} busy Python threads, switch interval {1000 * switch:g} ms: median {1000 * statistics.median(times):.0f} ms, "
                  f"p95 {1000 * times[int(0.95 * (len(times) - 1))]:.0f} ms per film")
    os.environ.pop("DRDC_TORCHSCRIPT", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd")
    sp = sub.add_parser("speed")
    sp.add_argument("--images", type=int, default=30)
    sp.add_argument("--baseline-images", type=int, default=6)
    sub.add_parser("gate")
    tr = sub.add_parser("trunk")
    tr.add_argument("--repeats", type=int, default=3)
    gv = sub.add_parser("gate-view")
    gv.add_argument("--limit", type=int, default=0, help="at most this many held-out films per source (0: all)")
    sub.add_parser("zones")
    lo = sub.add_parser("localisation")
    lo.add_argument("--images", type=int, default=200)
    lo.add_argument("--rows", choices=["first", "odd", "both"], default="both",
                    help="first: the first N boxed rows (earlier figures); odd: rows held out from the lung-box template")
    fi = sub.add_parser("findings")
    fi.add_argument("--images", type=int, default=1000)
    al = sub.add_parser("all")
    al.add_argument("--images", type=int, default=30)
    al.add_argument("--baseline-images", type=int, default=6)
    args = parser.parse_args(argv)
    if args.cmd is None:  # `python -m bench` runs every bench without arguments: the quick, product figures
        args = parser.parse_args(["speed", "--images", "10", "--baseline-images", "2"])
    commands = {"speed": [cmd_speed], "gate": [cmd_gate], "gate-view": [cmd_gate_view], "zones": [cmd_zones],
                "localisation": [cmd_localisation], "findings": [cmd_findings], "trunk": [cmd_trunk],
                "all": [cmd_zones, cmd_gate, cmd_speed, cmd_localisation, cmd_findings]}[args.cmd]
    for command in commands:
        print(f"\n=== {command.__name__[4:]} ===")
        command(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
