-- Mail to residents (issue 17): the private link's tokens, email follows
-- and the outbox. Additive. Tokens are kept only as their SHA-256 (hex);
-- an outbox row holds the clear tokens its mail carries (in `data`) until
-- the mail is sent, then `data` is cleared.

CREATE TABLE issue_tokens (
    token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    created_at TEXT    NOT NULL
);

CREATE INDEX issue_tokens_issue ON issue_tokens (issue_id);

-- Who hears of what: a reporter's follow of their issue (confirmed by the
-- report itself), or a resident's follow of an issue or a district
-- (confirmed through the link in a mail before any alert is sent).
CREATE TABLE mail_follows (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    lang            TEXT    NOT NULL CHECK (lang IN ('kk', 'ru', 'en')),
    issue_id        INTEGER REFERENCES issues (id),
    -- A district feature id; no foreign key: layers are replaced as a whole.
    district_id     INTEGER,
    reporter        INTEGER NOT NULL DEFAULT 0 CHECK (reporter IN (0, 1)),
    confirm_hash    TEXT    UNIQUE CHECK (length(confirm_hash) = 64),
    created_at      TEXT    NOT NULL,
    confirmed_at    TEXT,
    unsubscribed_at TEXT,
    CHECK ((issue_id IS NULL) <> (district_id IS NULL))
);

CREATE INDEX mail_follows_issue ON mail_follows (issue_id) WHERE issue_id IS NOT NULL;
CREATE INDEX mail_follows_district ON mail_follows (district_id) WHERE district_id IS NOT NULL;
CREATE INDEX mail_follows_email ON mail_follows (email);

-- One row per mail, written in the transaction of the change it tells of.
CREATE TABLE mail_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The Message-ID's local part: fixed here, so a mail sent twice (a
    -- crash between the server's acceptance and `sent_at`) is recognisable.
    message_key      TEXT    NOT NULL UNIQUE CHECK (length(message_key) BETWEEN 16 AND 64),
    follow_id        INTEGER NOT NULL REFERENCES mail_follows (id),
    recipient        TEXT    NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    lang             TEXT    NOT NULL CHECK (lang IN ('kk', 'ru', 'en')),
    kind             TEXT    NOT NULL CHECK (kind IN ('report_confirmation', 'issue_update', 'issue_comment', 'new_issue', 'confirm_subscription')),
    data             TEXT    CHECK (length(data) <= 16384),
    unsubscribe_hash TEXT    NOT NULL UNIQUE CHECK (length(unsubscribe_hash) = 64),
    created_at       TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    -- A sender's lease: another sender leaves the row alone until then.
    claimed_until    TEXT,
    last_error       TEXT    CHECK (length(last_error) <= 500),
    sent_at          TEXT,
    -- Unsubscribed before it went out.
    cancelled_at     TEXT
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX mail_outbox_follow ON mail_outbox (follow_id);
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, created_at);
