-- The community board (core/board/pg.py, core/board/pg_queries.py): the tables of the SQLite
-- engine (core/board/schema.py v7) under board_* names. The visitor salt and the cookie key are
-- app_secrets rows ('board_visitor_salt', 'board_cookie_key'), made by the first process that
-- opens the board (INSERT ... ON CONFLICT DO NOTHING, then read back: every replica agrees).
-- Times are seconds since the epoch (double precision), as in the SQLite file and the exports.
CREATE TABLE board_posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at double precision NOT NULL,
    updated_at double precision,
    category text NOT NULL CHECK (category IN ('chest', 'bone', 'scalp', 'free')),
    nickname text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    summary_json text,
    password_hash text,
    fingerprint text NOT NULL,
    view_count bigint NOT NULL DEFAULT 0,
    like_count bigint NOT NULL DEFAULT 0,
    comment_count bigint NOT NULL DEFAULT 0,
    report_count bigint NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'visible'
) WITH (fillfactor = 90);
CREATE INDEX board_posts_fingerprint ON board_posts (fingerprint, created_at);
CREATE INDEX board_posts_status_id ON board_posts (status, id);
CREATE INDEX board_posts_status_category_id ON board_posts (status, category, id);
CREATE INDEX board_posts_status_likes ON board_posts (status, like_count, id);
CREATE INDEX board_posts_status_reports ON board_posts (status, report_count);

CREATE TABLE board_comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES board_posts (id) ON DELETE CASCADE,
    created_at double precision NOT NULL,
    updated_at double precision,
    nickname text NOT NULL,
    body text NOT NULL,
    password_hash text,
    fingerprint text NOT NULL
);
CREATE INDEX board_comments_post ON board_comments (post_id, id);

-- One like / one report per visitor per post: the primary keys enforce it for every replica.
CREATE TABLE board_likes (
    post_id bigint NOT NULL REFERENCES board_posts (id) ON DELETE CASCADE,
    visitor_hash text NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (post_id, visitor_hash)
);

CREATE TABLE board_reports (
    post_id bigint NOT NULL REFERENCES board_posts (id) ON DELETE CASCADE,
    visitor_hash text NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    network_hash text,
    counted integer NOT NULL DEFAULT 1,
    PRIMARY KEY (post_id, visitor_hash)
);

-- Rate-limit events. A writer counts and adds the events of one bucket while holding
-- pg_advisory_xact_lock(0x4244, hashtext(bucket)), so replicas cannot both pass a full limit.
CREATE TABLE board_rate_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visitor_hash text NOT NULL,
    action text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX board_rate_events_bucket ON board_rate_events (visitor_hash, action, at);

CREATE TABLE board_moderation_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    action text NOT NULL,
    post_id bigint,
    comment_id bigint,
    detail text NOT NULL DEFAULT ''
);

-- Search. A term matches like SQLite's LIKE '%term%' on the title or the body (ASCII letters
-- folded, nothing else). Candidates come from the character unigrams and bigrams of each post
-- (lower-cased as LIKE folds: ASCII only, COLLATE "C"), in a GIN index: a term's grams must all
-- be there, then LIKE decides. Unlike pg_trgm (which indexes no term under 3 characters and, in
-- a database whose ctype is C, no Hangul at all) it needs no extension and serves 1-2 character
-- Korean terms. The grams live in their own table, kept by a trigger, so counter updates on
-- board_posts (views, likes) never touch the GIN index.
-- Each character once, with the next one (lead): linear in the text (subscripting a text[] walks
-- it from the start, so indexing every position would be quadratic).
CREATE FUNCTION board_grams(title text, body text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM (SELECT ch, lead(ch, 1, '') OVER (ORDER BY n) AS nx
          FROM regexp_split_to_table(lower((coalesce(title, '') || chr(10) || coalesce(body, '')) COLLATE "C"), '')
               WITH ORDINALITY AS u (ch, n)) AS s,
         LATERAL (VALUES (s.ch), (s.ch || s.nx)) AS v (g)
$$;

CREATE TABLE board_post_grams (
    post_id bigint PRIMARY KEY REFERENCES board_posts (id) ON DELETE CASCADE,
    grams text[] NOT NULL
);
CREATE INDEX board_post_grams_gin ON board_post_grams USING gin (grams);

CREATE FUNCTION board_posts_grams_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO board_post_grams (post_id, grams) VALUES (NEW.id, board_grams(NEW.title, NEW.body))
    ON CONFLICT (post_id) DO UPDATE SET grams = EXCLUDED.grams;
    RETURN NULL;
END
$$;

CREATE TRIGGER board_posts_grams AFTER INSERT OR UPDATE OF title, body ON board_posts
    FOR EACH ROW EXECUTE FUNCTION board_posts_grams_sync();
