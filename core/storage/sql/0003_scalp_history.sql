-- Opt-in scalp history (core/scalp/history.py, core/scalp/history_pg.py): one row per saved check,
-- keyed by the same PBKDF2(code, per-installation salt) id the file engine uses as a file name
-- (the salt is app_secrets 'scalp_history'). The code itself is never stored. Writers of one
-- profile are serialised by pg_advisory_xact_lock, so concurrent saves lose nothing.
CREATE TABLE scalp_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id text NOT NULL CHECK (profile_id ~ '^[0-9a-f]{32}$'),
    entry jsonb NOT NULL
);
CREATE INDEX scalp_history_profile ON scalp_history (profile_id, id);
