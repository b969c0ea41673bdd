-- Mail to residents (issue 17): the private link's tokens, email follows
-- and the outbox. Additive. Tokens are kept only as their SHA-256 (hex);
-- an outbox row holds the clear tokens its mail carries (in `data`) until
-- the mail is sent, then `data` is cleared.

CREATE TABLE issue_tokens (
    token_hash text PRIMARY KEY CHECK (char_length(token_hash) = 64),
    issue_id   bigint  NOT NULL REFERENCES issues (id),
    created_at timestamptz NOT NULL
);

CREATE INDEX issue_tokens_issue ON issue_tokens (issue_id);

-- Who hears of what: a reporter's follow of their issue (confirmed by the
-- report itself), or a resident's follow of an issue or a district
-- (confirmed through the link in a mail before any alert is sent).
CREATE TABLE mail_follows (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    lang            text NOT NULL CHECK (lang IN ('kk', 'ru', 'en')),
    issue_id        bigint REFERENCES issues (id),
    -- A district feature id; no foreign key: layers are replaced as a whole.
    district_id     bigint,
    reporter        boolean NOT NULL DEFAULT false,
    confirm_hash    text UNIQUE CHECK (char_length(confirm_hash) = 64),
    created_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    unsubscribed_at timestamptz,
    CHECK ((issue_id IS NULL) <> (district_id IS NULL))
);

CREATE INDEX mail_follows_issue ON mail_follows (issue_id) WHERE issue_id IS NOT NULL;
CREATE INDEX mail_follows_district ON mail_follows (district_id) WHERE district_id IS NOT NULL;
CREATE INDEX mail_follows_email ON mail_follows (email);

-- One row per mail, written in the transaction of the change it tells of.
CREATE TABLE mail_outbox (
    id               bigserial PRIMARY KEY,
    -- The Message-ID's local part: fixed here, so a mail sent twice (a
    -- crash between the server's acceptance and `sent_at`) is recognisable.
    message_key      text NOT NULL UNIQUE CHECK (char_length(message_key) BETWEEN 16 AND 64),
    follow_id        bigint  NOT NULL REFERENCES mail_follows (id),
    recipient        text NOT NULL CHECK (char_length(recipient) BETWEEN 3 AND 254),
    lang             text NOT NULL CHECK (lang IN ('kk', 'ru', 'en')),
    kind             text NOT NULL CHECK (kind IN ('report_confirmation', 'issue_update', 'issue_comment', 'new_issue', 'confirm_subscription')),
    data             text CHECK (char_length(data) <= 16384),
    unsubscribe_hash text NOT NULL UNIQUE CHECK (char_length(unsubscribe_hash) = 64),
    created_at       timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    -- A sender's lease: another sender leaves the row alone until then.
    claimed_until    timestamptz,
    last_error       text CHECK (char_length(last_error) <= 500),
    sent_at          timestamptz,
    -- Unsubscribed before it went out.
    cancelled_at     timestamptz
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX mail_outbox_follow ON mail_outbox (follow_id);
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, created_at);
