-- Photos: uploaded first ("pending": no issue, never served), then attached
-- to a report, a staff update or a comment in that write's transaction.
-- The file is <sha256>.jpg (and <sha256>-320.jpg) in the media directory;
-- it is written and fsynced before the row commits, and the sweep removes
-- files no row names. The upload key is stored only as its SHA-256.
CREATE TABLE photos (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash      TEXT    NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    sha256        TEXT    NOT NULL CHECK (length(sha256) = 64),
    width         INTEGER NOT NULL CHECK (width > 0),
    height        INTEGER NOT NULL CHECK (height > 0),
    created_at    TEXT    NOT NULL,
    issue_id      INTEGER REFERENCES issues (id),
    event_id      INTEGER REFERENCES issue_events (id),
    -- No foreign key: comments arrive with their own migration.
    comment_id    INTEGER,
    kind          TEXT    CHECK (kind IN ('report', 'update', 'comment')),
    position      INTEGER,
    attached_at   TEXT,
    hidden_at     TEXT,
    hidden_reason TEXT    CHECK (length(hidden_reason) BETWEEN 1 AND 500),
    -- Attached means attached with a kind, and only then.
    CHECK ((issue_id IS NULL) = (kind IS NULL)),
    CHECK ((issue_id IS NULL) = (attached_at IS NULL))
);
CREATE INDEX photos_issue ON photos (issue_id, id);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_pending ON photos (created_at) WHERE issue_id IS NULL;
