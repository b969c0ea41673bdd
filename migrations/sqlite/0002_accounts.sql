-- Accounts, API tokens and the audit log (issue 14). Additive: 0001 is untouched.
-- Times are RFC 3339 UTC text with millisecond precision, as in 0001.

CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stored lower-cased by the application; the index makes uniqueness
    -- case-insensitive even for rows written by hand.
    email        TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '_%@_%'),
    display_name TEXT    CHECK (length(display_name) BETWEEN 1 AND 100),
    -- Whether display_name may appear on the user's public actions.
    show_name    INTEGER NOT NULL DEFAULT 0 CHECK (show_name IN (0, 1)),
    role         TEXT    NOT NULL CHECK (role IN ('resident', 'moderator', 'staff', 'planner', 'admin', 'integration')),
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at   TEXT    NOT NULL
);

CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Where a scoped role (staff, moderator) works: a department, a district, or both.
CREATE TABLE user_scopes (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    department  TEXT CHECK (length(department) BETWEEN 1 AND 64),
    -- A districts feature id; no foreign key, as for issues.district_id.
    district_id INTEGER CHECK (district_id > 0),
    CHECK (department IS NOT NULL OR district_id IS NOT NULL)
);

CREATE INDEX user_scopes_user ON user_scopes (user_id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    -- SHA-256 of the token, hex; the token itself is never stored.
    token_hash TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    -- The token's last four characters, so people can tell their tokens apart.
    label      TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 16),
    created_at TEXT    NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Who did what to whom; append-only by construction (the triggers below).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    -- NULL: the command line (someone with the database itself).
    actor_id    INTEGER REFERENCES users (id),
    action      TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    target      TEXT    NOT NULL,
    -- JSON text of the record before and after the change.
    before_json TEXT,
    after_json  TEXT
);

CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
