-- Web login (issue 14): the same as migrations/sqlite/0004_sessions.sql. Additive.

-- An argon2id PHC string; NULL: the user cannot sign in with a password.
ALTER TABLE users ADD COLUMN password_hash text CHECK (char_length(password_hash) BETWEEN 1 AND 512);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the 256-bit random session id; the id itself lives
    -- only in the browser's cookie.
    id_hash    text        PRIMARY KEY CHECK (char_length(id_hash) = 64),
    user_id    bigint      NOT NULL REFERENCES users (id),
    -- SHA-256 (hex) of the session's CSRF token.
    csrf_hash  text        NOT NULL CHECK (char_length(csrf_hash) = 64),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX sessions_user ON sessions (user_id);
