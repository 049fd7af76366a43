"""Export and import of the board as JSON lines: what readers could see plus moderation
status (no password hashes, fingerprints or visitor hashes). An import is validated record by
record first and written in one transaction: all of it or none."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from core.board import privacy, text
from core.board.engine import BoardTx
from core.board.errors import BoardError, ImportRecordError, InvalidInputError
from core.board.limits import RateLimited
from core.board.posts import post_fingerprint, validate_post
from core.board.records import comment_from_row, post_from_row
from core.board.summary import summary_to_json, validate_summary

#: an import line longer than this is refused before parsing (a post is at most ~30 KB of JSON)
IMPORT_LINE_MAX = 1_000_000
#: imported counts above this are refused
IMPORT_COUNT_MAX = 10**12
#: clock skew allowed for imported times
IMPORT_FUTURE_S = 86_400.0


def _json_records(lines: Iterable[str]) -> Iterator[tuple[int, object]]:
    """(line number, parsed record) for each non-blank line.

    Raises:
        ImportRecordError: a line is too long or not JSON (too deeply nested included).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > IMPORT_LINE_MAX:
            raise ImportRecordError(number, InvalidInputError("board.error.import_json"))
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ImportRecordError(number, InvalidInputError("board.error.import_json")) from exc


def _import_time(rec: Mapping[str, Any], name: str, now: float) -> float | None:
    """An imported time: None when missing or null; otherwise a finite number of seconds
    between 0 and ``now`` + one day.

    Raises:
        InvalidInputError: anything else (text, booleans, NaN, 1e20, negative times).
    """
    value = rec.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= now + IMPORT_FUTURE_S
    ):
        raise InvalidInputError("board.error.import_value", field=name)
    return float(value)


def _import_int(rec: Mapping[str, Any], name: str, *, low: int = 0) -> int | None:
    """An imported count or id: None when missing or null, else an int in [low, 10^12].

    Raises:
        InvalidInputError: a float, text, boolean or a number out of range.
    """
    value = rec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= IMPORT_COUNT_MAX:
        raise InvalidInputError("board.error.import_value", field=name)
    return value


class Transfer(RateLimited):
    """JSON-lines export and import."""

    def export_jsonl(self, out: IO[str]) -> dict[str, int]:
        """Write every post and comment as JSON lines (one snapshot). Password hashes,
        fingerprints and visitor hashes are left out, so an export holds only what readers
        of the board could see plus moderation status. Returns counts.
        """
        counts = {"posts": 0, "comments": 0}
        with self._engine.read() as tx:
            out.write(json.dumps({"type": "meta", "schema_version": tx.schema_version(), "exported_at": self.clock()})
                      + "\n")
            for row in tx.all_posts():
                out.write(json.dumps({"type": "post", **post_from_row(row).__dict__}, ensure_ascii=False) + "\n")
                counts["posts"] += 1
            for row in tx.all_comments():
                out.write(json.dumps({"type": "comment", **comment_from_row(row).__dict__}, ensure_ascii=False) + "\n")
                counts["comments"] += 1
        return counts

    def import_jsonl(self, lines: Iterable[str], *, batch_size: int | None = None) -> dict[str, int]:
        """Load an export (from :meth:`export_jsonl`) in one transaction: all of it or, when a
        record is refused or the process dies midway, none of it. Posts get new ids (comments
        follow them); imported posts have no password, so only a moderator can edit or delete
        them. Every field of every record is validated first (see :meth:`_clean_import`).
        ``batch_size`` is ignored (kept for old callers).

        Raises:
            ImportRecordError: a line is not a JSON object or a record is not acceptable (the
                message names the line and the field).
            BusyError: the database stayed locked.
        """
        return self._import(_json_records(lines))

    def import_posts(self, posts: Iterable[Mapping[str, Any]], *, batch_size: int | None = None) -> dict[str, int]:
        """Bulk-load posts (dicts with category, title, body, nickname, optional summary,
        created_at) in one transaction, with no password. For imports and benchmarks.

        Raises:
            ImportRecordError: a post is not acceptable.
            BusyError: the database stayed locked.
        """
        return self._import(enumerate(({"type": "post", **p} for p in posts), start=1))

    def _import(self, records: Iterable[tuple[int, object]]) -> dict[str, int]:
        # Validate everything first, so a bad record refuses the whole import; then write it all
        # in one transaction, so a crash or kill midway leaves nothing of it.
        now = self.clock()
        seen: set[int] = set()
        clean: list[dict[str, Any]] = []
        for line, rec in records:
            try:
                item = self._clean_import(rec, now, seen)
            except BoardError as err:
                raise ImportRecordError(line, err) from err
            if item is not None:
                clean.append(item)
        id_map: dict[int, int] = {}
        counts = {"posts": 0, "comments": 0}
        with self._engine.write() as tx:
            for rec in clean:
                _import_one(tx, rec, id_map, counts)
        return counts

    def _clean_import(self, rec: object, now: float, seen_ids: set[int]) -> dict[str, Any] | None:
        """One import record checked field by field (None for the export's meta line).

        Times are seconds since the epoch between 0 and now + 1 day (missing: now / no edit);
        counts are integers from 0 to 10^12 (booleans, NaN, text refused); ids are positive
        integers, unique per import; status is visible or hidden; text fields follow the rules
        of new input (lengths, characters, links, nicknames, no personal data) and summaries the
        summary rules.

        Raises:
            InvalidInputError, SpamError, PersonalDataError, SummaryError: a field is refused.
        """
        cfg = self.config
        if not isinstance(rec, Mapping):
            raise InvalidInputError("board.error.import_json")
        kind = rec.get("type")
        if kind == "meta":
            return None
        if kind not in ("post", "comment"):
            raise InvalidInputError("board.error.import_value", field="type")
        created = _import_time(rec, "created_at", now)
        updated = _import_time(rec, "updated_at", now)
        nickname = text.clean_nickname(rec.get("nickname"), cfg, min_len=1)
        if kind == "comment":
            body = text.clean_body(rec.get("body"), "comment", cfg.comment_max, cfg.body_max_lines)
            privacy.check_personal_data("comment", body)
            post_ref = _import_int(rec, "post_id", low=1)
            if post_ref is None:
                raise InvalidInputError("board.error.import_value", field="post_id")
            return {"type": "comment", "post_id": post_ref, "created_at": created if created is not None else now,
                    "updated_at": updated, "nickname": nickname, "body": body}
        category, title, body = validate_post(cfg, rec.get("category"), rec.get("title"), rec.get("body"))
        status = rec.get("status", "visible")
        if status not in ("visible", "hidden"):
            raise InvalidInputError("board.error.import_value", field="status")
        view_count = _import_int(rec, "view_count") or 0
        for name in ("like_count", "comment_count", "report_count"):  # recomputed here, but must be sane
            _import_int(rec, name)
        post_id = _import_int(rec, "id", low=1)
        if post_id is not None:
            if post_id in seen_ids:
                raise InvalidInputError("board.error.import_value", field="id")
            seen_ids.add(post_id)
        summary = rec.get("summary")
        return {
            "type": "post",
            "id": post_id,
            "created_at": created if created is not None else now,
            "updated_at": updated,
            "category": category,
            "title": title,
            "body": body,
            "nickname": nickname,
            "summary_json": summary_to_json(validate_summary(summary)) if summary is not None else None,
            "view_count": view_count,
            "status": status,
        }


def _import_one(tx: BoardTx, rec: Mapping[str, Any], id_map: dict[int, int], counts: dict[str, int]) -> None:
    """Write one cleaned record; a comment whose post was not in this import is skipped."""
    if rec["type"] == "post":
        values = {k: v for k, v in rec.items() if k not in ("type", "id")}
        new_id = tx.insert_post({**values, "fingerprint": post_fingerprint(rec["title"], rec["body"], rec["summary_json"])})
        if rec["id"] is not None:
            id_map[rec["id"]] = new_id
        counts["posts"] += 1
        return
    post_id = id_map.get(rec["post_id"])
    if post_id is None:
        return  # its post was not in this import
    values = {k: v for k, v in rec.items() if k != "type"}
    tx.insert_comment({**values, "post_id": post_id, "fingerprint": text.fingerprint(rec["body"])})
    counts["comments"] += 1
