"""Command line for the weights registry.

    python -m core.models list                      # every model, its task, install state, licence
    python -m core.models info NAME                 # the whole model card as JSON
    python -m core.models fetch NAME                # download (resumable, checksummed)
    python -m core.models fetch NAME --from DIR     # install offline from a folder or file
    python -m core.models verify [NAME ...]         # check installed files against card or signed pin
    python -m core.models verify NAME --trust-unknown   # trust (pin) a found file whose publisher states no checksum

A card that states its SHA-256 is the only authority for its file. ``--trust-unknown`` is needed to
accept any file whose checksum nobody published; it prints that checksum so it can be compared
with a trusted source, and pins it signed with this installation's key.

Exit status: 0 on success, 1 when a fetch fails or a verified file is corrupt, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.models import registry
from core.models.fetch import FetchError, install


def _progress_bar(name: str):
    from tqdm import tqdm

    bar = tqdm(total=None, unit="B", unit_scale=True, desc=name, file=sys.stderr)

    def update(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def cmd_list(_: argparse.Namespace) -> int:
    rows = [("NAME", "TASK", "STATE", "LICENCE")]
    for card in registry.list_cards():
        rows.append((card.name, card.task, registry.status(card.name).state, card.licence))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    card = registry.get_card(args.name)
    data = card.to_dict()
    st = registry.status(args.name)
    data["status"] = {"state": st.state, "path": str(st.path) if st.path else None, "sha256": st.sha256}
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    update, bar = _progress_bar(args.name)
    try:
        path = install(args.name, from_dir=args.from_dir, sha256=args.sha256, progress=update,
                       trust_unknown=args.trust_unknown)
    except FetchError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    st = registry.status(args.name)
    how = ", trusted on your word (--trust-unknown) and pinned" if st.pinned_locally else ", matches the card"
    print(f"installed {args.name} -> {path} (sha256 {st.sha256}{how})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    names = args.names or [c.name for c in registry.list_cards()]
    bad = 0
    for name in names:
        st = registry.status(name)
        if st.state == "unpinned" and st.sha256:
            if args.trust_unknown:
                registry.pin(registry.get_card(name), st.sha256)
                print(f"{name}: trusted sha256 {st.sha256} (pinned, signed with this installation's key)")
                st = registry.status(name)
            else:
                print(f"{name}: found {st.path} with sha256 {st.sha256}; nobody published its checksum. "
                      f"Compare it with a trusted source, then: {registry.trust_command(name)}")
        print(f"{name}: {st.state}" + (f" ({st.path})" if st.path else ""))
        bad += st.state == "corrupt"
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.models", description="Dr.DeepChest weights registry")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list models and their install state").set_defaults(func=cmd_list)
    p_info = sub.add_parser("info", help="print a model card")
    p_info.add_argument("name")
    p_info.set_defaults(func=cmd_info)
    p_fetch = sub.add_parser("fetch", help="download or install a model")
    p_fetch.add_argument("name")
    p_fetch.add_argument("--from", dest="from_dir", type=Path, help="install from this folder or file (offline)")
    p_fetch.add_argument("--sha256", help="expected SHA-256 (only for a card that states none)")
    p_fetch.add_argument("--trust-unknown", action="store_true",
                         help="accept and pin a file whose checksum nobody published (prints it)")
    p_fetch.set_defaults(func=cmd_fetch)
    p_verify = sub.add_parser("verify", help="verify installed models")
    p_verify.add_argument("names", nargs="*")
    p_verify.add_argument("--trust-unknown", action="store_true",
                          help="trust (pin) files found whose checksum nobody published (prints it)")
    p_verify.set_defaults(func=cmd_verify)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
