-- Per-installation secrets shared by every replica (with files, each lives in a file of its own
-- under the data folder). Made once by the first process that needs one:
--   INSERT INTO app_secrets (name, value) VALUES (...) ON CONFLICT (name) DO NOTHING
-- then read back, so concurrent first uses agree on one value. Never updated or deleted: a new
-- value would orphan whatever was keyed by the old one.
CREATE TABLE app_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 16),
    created_at timestamptz NOT NULL DEFAULT now()
);
