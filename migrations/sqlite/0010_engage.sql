-- Residents' follow-up: "me too" votes (one per voter per issue; the voter
-- only as a SHA-256, never the account id or browser token itself) and
-- comments (public text; the account that wrote one is private; a hidden
-- comment is in no public output).

CREATE TABLE issue_votes (
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    voter_hash TEXT    NOT NULL CHECK (length(voter_hash) = 64),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (issue_id, voter_hash)
) WITHOUT ROWID;

CREATE TABLE issue_comments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id       INTEGER NOT NULL REFERENCES issues (id),
    body           TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    author_name    TEXT    CHECK (length(author_name) BETWEEN 1 AND 80),
    -- Private: never part of any public output. No foreign key: a comment
    -- outlives the account that wrote it.
    author_user_id INTEGER,
    created_at     TEXT    NOT NULL,
    hidden_at      TEXT,
    hidden_reason  TEXT    CHECK (length(hidden_reason) BETWEEN 1 AND 500)
);

CREATE INDEX issue_comments_by_issue ON issue_comments (issue_id, id);
