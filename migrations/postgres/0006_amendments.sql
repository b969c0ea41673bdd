-- Re-routes and corrections are events too: what an event changed besides
-- the status. The department pair is set (one side may be NULL: no
-- department) only when the department changed; the category pair only when
-- the category changed; `moved` when the location was corrected. The old
-- position is not kept here: the history is public, and a resident's first
-- pin may be their home (the audit log keeps it, for admins).

ALTER TABLE issue_events
    ADD COLUMN from_department text CHECK (char_length(from_department) BETWEEN 1 AND 64),
    ADD COLUMN to_department text CHECK (char_length(to_department) BETWEEN 1 AND 64),
    ADD COLUMN from_category text CHECK (char_length(from_category) BETWEEN 1 AND 64),
    ADD COLUMN to_category text CHECK (char_length(to_category) BETWEEN 1 AND 64),
    ADD COLUMN moved boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT issue_events_category_pair CHECK ((from_category IS NULL) = (to_category IS NULL));
