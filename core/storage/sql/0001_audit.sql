-- Audit trail of analyses (core/audit.py, core/audit_pg.py).
-- One column per allow-listed field (core.audit.FIELDS): the table cannot hold anything else.
-- Append-only: UPDATE, DELETE and TRUNCATE are refused by triggers. A site that must purge old
-- records by policy does it as the table owner, deliberately:
--   ALTER TABLE audit_analyses DISABLE TRIGGER audit_append_only; DELETE ...; ENABLE it again.
-- audit_count holds the number of rows, kept by a trigger in the inserting transaction, so the
-- count shown on every page rerun is one row read, not a scan.
CREATE TABLE audit_analyses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "time" timestamptz NOT NULL,
    feature text,
    input_sha256 text,
    model_name text,
    model_version text,
    model_sha256 text,
    test_model boolean,
    preset text,
    operating_point double precision,
    gate_decision text,
    gate_issues text[],
    overridden boolean,
    n_positive integer,
    n_uncertain integer,
    app_version text
);

CREATE TABLE audit_count (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    n bigint NOT NULL
);
INSERT INTO audit_count (only_row, n) VALUES (true, 0);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_analyses
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_analyses
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_count SET n = n + (CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_count_rows AFTER INSERT OR DELETE ON audit_analyses
    FOR EACH ROW EXECUTE FUNCTION audit_counted();
