"""Board maintenance from the command line::

    python -m core.board migrate            # create / upgrade the schema
    python -m core.board check              # integrity check (SQLite + FTS index)
    python -m core.board stats
    python -m core.board backup DEST.sqlite3 [--overwrite]
    python -m core.board export DEST.jsonl  # '-' for stdout; no password hashes
    python -m core.board import SRC.jsonl   # load an export (posts get new ids), all or nothing
    python -m core.board unlock-admin       # forget failed admin secrets (after a lock-out)

The database is the one the app uses (``DRDC_DB_URL`` for PostgreSQL, else ``DRDC_DB_PATH`` /
``DRDC_DATA_DIR``) unless ``--db PATH`` (a SQLite file) is given. On PostgreSQL, ``backup`` is
refused: back the database up with ``pg_dump``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core.board import Board, open_board
from core.board.engine import BackupRefusedError
from core.board.errors import BoardError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.board", description="Community board maintenance.")
    parser.add_argument("--db", type=Path, help="SQLite file (default: DRDC_DB_URL, else DRDC_DB_PATH / DRDC_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the schema")
    sub.add_parser("check", help="integrity check (exit 1 when not ok)")
    sub.add_parser("stats", help="row counts as JSON")
    backup = sub.add_parser("backup", help="consistent copy of the live database")
    backup.add_argument("dest", type=Path)
    backup.add_argument("--overwrite", action="store_true")
    export = sub.add_parser("export", help="posts and comments as JSON lines (no secrets)")
    export.add_argument("dest", help="file, or - for stdout")
    load = sub.add_parser("import", help="load a JSON-lines export")
    load.add_argument("src", type=Path)
    sub.add_parser("unlock-admin", help="forget every failed admin secret (lifts a lock-out)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    board = Board(args.db) if args.db else open_board()
    if args.command == "migrate":
        print(f"{board.location}: schema v{board.schema_version()}")
    elif args.command == "check":
        result = board.integrity_check()
        print(result)
        return 0 if result == "ok" else 1
    elif args.command == "stats":
        print(json.dumps(board.stats(), indent=2))
    elif args.command == "backup":
        try:
            dest = board.backup(args.dest, overwrite=args.overwrite)
        except FileExistsError:
            print(f"{args.dest} exists (use --overwrite)", file=sys.stderr)
            return 1
        except BackupRefusedError as err:
            print(f"backup refused: {err}", file=sys.stderr)
            return 1
        print(f"backup written to {dest}")
    elif args.command == "export":
        if args.dest == "-":
            counts = board.export_jsonl(sys.stdout)
        else:
            with open(args.dest, "w", encoding="utf-8") as out:
                counts = board.export_jsonl(out)
        print(json.dumps(counts), file=sys.stderr)
    elif args.command == "import":
        try:
            with open(args.src, encoding="utf-8") as src:
                counts = board.import_jsonl(src)
        except BoardError as err:
            print(f"import refused: {err}", file=sys.stderr)
            return 1
        print(json.dumps(counts))
    elif args.command == "unlock-admin":
        print(f"forgot {board.unlock_admin()} failed admin secrets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
