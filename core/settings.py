"""Settings read from the environment (and, in the app, from ``st.secrets`` passed in).

| variable | meaning | default |
|---|---|---|
| ``DRDC_DATA_DIR`` | where the app writes its own data (board db, audit log, history) | ``<project>/data`` |
| ``DRDC_WEIGHTS_DIR`` | where downloaded/installed weights go | ``<project>/weights/downloads`` |
| ``DRDC_SAMPLES_DIR`` | demo-mode sample images | ``<project>/../shared/data`` if present |
| ``DRDC_DB_PATH`` | community board database | ``<data dir>/board.sqlite3`` |
| ``DRDC_DB_URL`` | shared storage for replicas: ``postgresql://user:pass@host/db`` (see ``docs/deploy.md``) | unset = local files |
| ``DRDC_SITE_CARDS_DIR`` | a site's own model cards (models it trained or bought), installable from the Models page | none |
| ``DRDC_ADMIN_SECRET`` | unlocks board moderation | unset = moderation off |
| ``DRDC_LLM_PATH`` | causal LM for the ``transformers`` report writer: a folder or a hub id | unset = writer off |
| ``DRDC_LLM_ADAPTER`` | optional PEFT LoRA adapter folder applied to that model | unset |
| ``DRDC_LLM_MAX_NEW_TOKENS`` | most tokens an LLM writer generates per text | ``384`` |
| ``DRDC_LLM_MAX_TIME`` | wall-clock limit of one generation, seconds | ``90`` |
| ``DRDC_LLM_DTYPE`` | weights dtype for LLM writers (``float32``, ``bfloat16``, ``float16``) | ``float32`` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    weights_dir: Path
    samples_dir: Path | None
    db_path: Path
    admin_secret: str | None
    llm_path: str | None = None
    llm_adapter: str | None = None
    llm_max_new_tokens: int = 384
    llm_max_time: float = 90.0
    llm_dtype: str = "float32"
    site_cards_dir: Path | None = None
    db_url: str | None = None


def _path(env: dict[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    return Path(value).expanduser() if value else default


def _number(env: dict[str, str], name: str, default: float, cast: type[int] | type[float]) -> float:
    """A positive number from ``env`` (``default`` when unset or not a positive number)."""
    try:
        value = cast(env.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``). Creates nothing on disk."""
    env = dict(os.environ if env is None else env)
    data_dir = _path(env, "DRDC_DATA_DIR", PROJECT_ROOT / "data")
    default_samples = PROJECT_ROOT.parent / "shared" / "data"
    samples = env.get("DRDC_SAMPLES_DIR")
    samples_dir: Path | None
    if samples:
        samples_dir = Path(samples).expanduser()
    else:
        samples_dir = default_samples if default_samples.is_dir() else None
    return Settings(
        data_dir=data_dir,
        weights_dir=_path(env, "DRDC_WEIGHTS_DIR", PROJECT_ROOT / "weights" / "downloads"),
        samples_dir=samples_dir,
        db_path=_path(env, "DRDC_DB_PATH", data_dir / "board.sqlite3"),
        admin_secret=env.get("DRDC_ADMIN_SECRET") or None,
        llm_path=env.get("DRDC_LLM_PATH") or None,
        llm_adapter=env.get("DRDC_LLM_ADAPTER") or None,
        llm_max_new_tokens=int(_number(env, "DRDC_LLM_MAX_NEW_TOKENS", 384, int)),
        llm_max_time=float(_number(env, "DRDC_LLM_MAX_TIME", 90.0, float)),
        llm_dtype=(env.get("DRDC_LLM_DTYPE") or "float32").lower(),
        site_cards_dir=_path(env, "DRDC_SITE_CARDS_DIR", Path()) if env.get("DRDC_SITE_CARDS_DIR") else None,
        db_url=(env.get("DRDC_DB_URL") or "").strip() or None,
    )
