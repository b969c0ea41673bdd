-- Web login (issue 14): password hashes and browser sessions. Additive.

-- An argon2id PHC string; NULL: the user cannot sign in with a password.
ALTER TABLE users ADD COLUMN password_hash TEXT CHECK (length(password_hash) BETWEEN 1 AND 512);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the 256-bit random session id; the id itself lives
    -- only in the browser's cookie.
    id_hash    TEXT    PRIMARY KEY CHECK (length(id_hash) = 64),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    -- SHA-256 (hex) of the session's CSRF token.
    csrf_hash  TEXT    NOT NULL CHECK (length(csrf_hash) = 64),
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    revoked_at TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);
