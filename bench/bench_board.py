"""Benchmark of the community board on SQLite (WAL, trigram and bigram FTS5) or PostgreSQL
(``--engine postgresql``: every term is a LIKE on the title/body with candidates from the
unigram+bigram GIN index; ``DRDC_DB_URL``, else a throwaway server started as the tests do
(``tests/postgres_server.py``), else "skipped"; it works in a schema of its own, dropped at the end).

Prints: inserts per second through ``Board.create_post`` (one transaction per post, with the
production Argon2id cost and with a minimal one to show the storage path alone), batched
inserts per second (``import_posts``: the whole import in one transaction), search p50/p95 over 10,000
posts for Korean and English queries (terms of 3+ characters use the trigram index; queries
made only of 1-2 character terms take their candidates from the bigram index, then LIKE),
overall and for the short terms alone, list-page p50/p95 (newest/popular, category filter,
deep pages), and the load average (the build machine is shared). Target: search p95 <= 50 ms.

    .venv/bin/python -m bench board
    .venv/bin/python -m bench.bench_board [--posts 10000] [--repeats 10] [--db PATH]
    .venv/bin/python -m bench.bench_board --engine postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.board import CATEGORIES, Board, BoardConfig, cheap_password_hasher  # noqa: E402
from core.settings import get_settings  # noqa: E402

TARGET_P95_MS = 50.0
KO_WORDS = (
    "두피가 가려워요 각질이 많아요 탈모가 걱정돼요 샴푸를 바꿨어요 어깨 엑스레이 골다공증 검사 결과 "
    "골밀도가 낮대요 기침이 오래가요 흉부 사진 폐렴 의심 병원에 가 봤어요 약을 먹고 있어요 운동을 시작했어요 "
    "칼슘 비타민 정기 검진 피부과 정형외과 호흡기내과 숨이 차요 가슴이 답답해요 머리카락이 빠져요"
).split()
EN_WORDS = (
    "my scalp is itchy and flaky dandruff hair loss shampoo shoulder x-ray osteoporosis bone density "
    "screening result cough chest pneumonia doctor visit medication exercise calcium vitamin checkup "
    "dermatology orthopedics breathing tight chest thinning hair"
).split()
QUERIES = {
    "ko 3+ chars (trigram)": ["가려워요", "골다공증", "엑스레이", "머리카락이", "정기 검진"],
    "ko 2 chars (common)": ["두피", "탈모", "기침", "칼슘"],
    "ko mixed": ["두피 각질이", "흉부 사진", "숨이 차요"],
    "en words (trigram)": ["scalp", "osteoporosis", "x-ray", "itchy scalp", "dandruff shampoo"],
    "en 1-2 chars (common)": ["ct", "x"],
    "no match": ["없는검색어입니다", "zzzqqq"],
    "rare 1-2 chars": ["뷁", "zq"],
    "ko rare 2 chars (no match)": ["골절", "결핵"],
}
#: groups whose queries are made of 1-2 character terms only (a full LIKE scan before schema v6)
SHORT_GROUPS = ("ko 2 chars (common)", "en 1-2 chars (common)", "rare 1-2 chars", "ko rare 2 chars (no match)")


def _text(rng: random.Random, words: tuple[str, ...] | list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n))


def _post(rng: random.Random, i: int) -> dict[str, str]:
    words = KO_WORDS if i % 3 else EN_WORDS
    return {
        "category": CATEGORIES[i % len(CATEGORIES)],
        "title": f"{_text(rng, words, 4)} #{i}",
        "body": _text(rng, words, rng.randint(20, 120)),
        "nickname": f"user{i % 500}",
    }


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _row(name: str, ms: list[float]) -> str:
    return f"  {name:34s} n={len(ms):4d}  p50 {_p(ms, 50):7.2f} ms  p95 {_p(ms, 95):7.2f} ms  max {max(ms):7.2f} ms"


@contextlib.contextmanager
def _postgres_schema() -> Iterator[str | None]:
    """A URL whose search path is a new schema (dropped after) on ``DRDC_DB_URL`` or on a throwaway
    server; None when neither is available."""
    url = os.environ.get("DRDC_DB_URL")
    cluster = None
    try:
        import psycopg

        from tests.postgres_server import Cluster, find_binaries
    except ImportError as exc:
        print(f"skipped: PostgreSQL bench needs psycopg and tests/postgres_server.py ({exc})")
        yield None
        return
    if not url:
        binaries = find_binaries()
        if binaries is None or (os.geteuid() == 0 and not any(
                Path(d, "runuser").exists() for d in os.environ.get("PATH", "/usr/bin").split(":"))):
            print("skipped: set DRDC_DB_URL or install PostgreSQL (initdb/pg_ctl) for the PostgreSQL bench")
            yield None
            return
        cluster = Cluster(binaries)
        url = cluster.start()
    schema = "bench_board_" + uuid.uuid4().hex[:8]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        from core.storage import postgres

        postgres.close_pools()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if cluster is not None:
            cluster.stop()


def _size(board: Board, url: str | None) -> str:
    if url is None:
        return f"file {board.path.stat().st_size / 1e6:.1f} MB" if board.path else ""
    import psycopg

    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c "
                            "WHERE c.relname LIKE 'board%%' AND c.relkind = 'r' "
                            "AND c.relnamespace = current_schema()::regnamespace").fetchone()[0]
    return f"tables with indexes {int(size or 0) / 1e6:.1f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=10, help="timings per query, page and sort")
    ap.add_argument("--db", type=Path, help="SQLite database file (default: a temporary one)")
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    if args.engine == "sqlite":
        return _bench(args, None)
    with _postgres_schema() as url:
        return 0 if url is None else _bench(args, url)


def _bench(args: argparse.Namespace, url: str | None) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="bench-board-")
    db_path = args.db or Path(tmp.name) / "board.sqlite3"
    settings = get_settings({"DRDC_DB_URL": url}) if url else None

    def open_board(config: BoardConfig) -> Board:
        return Board(None, config, settings=settings) if settings else Board(db_path, config)

    rng = random.Random(0)
    where = "PostgreSQL (schema " + url.rsplit("%3D", 1)[-1] + ")" if url else str(db_path)
    print(f"engine: {args.engine}  database: {where}  posts: {args.posts}  cpus: {os.cpu_count()}  load: {_load()}")

    # 1. one post per transaction, production Argon2id (default parameters)
    real = open_board(BoardConfig().without_rate_limits())
    n_real = 15
    start = time.perf_counter()
    for i in range(n_real):
        real.create_post("bench", password="bench-password", **_post(rng, i))
    real_rate = n_real / (time.perf_counter() - start)
    real.close()

    # 2. one post per transaction, minimal Argon2id: the storage path itself
    board = open_board(BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits())
    n_single = min(2000, args.posts // 5)
    start = time.perf_counter()
    for i in range(n_real, n_real + n_single):
        board.create_post("bench", password="bench-password", **_post(rng, i))
    single_rate = n_single / (time.perf_counter() - start)

    # 3. one import (one transaction: all or nothing) for the rest
    rest = [_post(rng, i) for i in range(n_real + n_single, args.posts)]
    start = time.perf_counter()
    board.import_posts(rest)
    batch_rate = len(rest) / (time.perf_counter() - start)
    for i in range(0, args.posts, 7):  # some likes so "popular" has an order
        board.like(i + 1, f"fan{i % 13}")
    if url:  # what autovacuum does soon after a bulk load: fresh planner statistics
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    print("inserts")
    print(f"  create_post, Argon2id default cost   {real_rate:9.1f} posts/s  (KDF-bound; n={n_real})")
    print(f"  create_post, minimal KDF             {single_rate:9.1f} posts/s  (one transaction each; n={n_single})")
    print(f"  import_posts, one transaction        {batch_rate:9.1f} posts/s  (n={len(rest)})")
    stats = board.stats()
    print(f"  total visible posts: {stats['posts_visible']}, {_size(board, url)}")

    print(f"search over {stats['posts_visible']} posts (newest and popular, pages 1 and 3, 10 per page, with count)")
    all_search: list[float] = []
    short_search: list[float] = []
    for group, queries in QUERIES.items():
        group_ms: list[float] = []
        for query in queries:
            for page in (1, 3):
                for sort in ("newest", "popular"):
                    group_ms += _timed(lambda q=query, pg=page, so=sort: board.search(q, page=pg, sort=so), args.repeats)
        all_search += group_ms
        if group in SHORT_GROUPS:
            short_search += group_ms
        print(_row(group, group_ms))
    filtered = _timed(lambda: board.search("가려워요", category="scalp", sort="popular"), args.repeats)
    all_search += filtered
    print(_row("ko + category + popular", filtered))
    hits = {q: f"{board.search(q).total}{'+' if board.search(q).more else ''}" for q in ("두피", "가려워요", "scalp", "뷁")}
    print(f"  hits: {hits}")
    print(_row("SHORT TERMS (1-2 chars only)", short_search))
    print(_row("ALL SEARCHES", all_search))

    print("list pages")
    all_list: list[float] = []
    for name, kwargs in {
        "newest page 1": {"page": 1},
        "newest page 50": {"page": 50},
        "newest page 1000 (deep)": {"page": 1000},
        "popular page 1": {"sort": "popular"},
        "popular page 200": {"sort": "popular", "page": 200},
        "category bone page 1": {"category": "bone"},
        "category bone, popular p 20": {"category": "bone", "sort": "popular", "page": 20},
    }.items():
        ms = _timed(lambda kw=kwargs: board.list_posts(**kw), args.repeats)  # type: ignore[arg-type]
        all_list += ms
        print(_row(name, ms))
    print(_row("ALL LIST PAGES", all_list))
    get_ms = _timed(lambda: board.get_post(rng.randint(1, args.posts)), args.repeats * 5)
    print(_row("get_post", get_ms))

    print(f"load average at the end: {_load()}")
    p95 = _p(all_search, 95)
    verdict = "PASS" if p95 <= TARGET_P95_MS else "FAIL"
    print(f"search p95 {p95:.2f} ms vs target {TARGET_P95_MS:.0f} ms: {verdict}")
    assert board.integrity_check() == "ok"
    board.close()
    tmp.cleanup()
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
