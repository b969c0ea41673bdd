-- Re-routes and corrections are events too: what an event changed besides
-- the status. The department pair is set (one side may be NULL: no
-- department) only when the department changed; the category pair only when
-- the category changed; `moved` when the location was corrected. The old
-- position is not kept here: the history is public, and a resident's first
-- pin may be their home (the audit log keeps it, for admins).

ALTER TABLE issue_events ADD COLUMN from_department TEXT CHECK (length(from_department) BETWEEN 1 AND 64);
ALTER TABLE issue_events ADD COLUMN to_department TEXT CHECK (length(to_department) BETWEEN 1 AND 64);
ALTER TABLE issue_events ADD COLUMN from_category TEXT CHECK (length(from_category) BETWEEN 1 AND 64);
ALTER TABLE issue_events ADD COLUMN to_category TEXT CHECK ((to_category IS NULL OR length(to_category) BETWEEN 1 AND 64) AND (from_category IS NULL) = (to_category IS NULL));
ALTER TABLE issue_events ADD COLUMN moved INTEGER NOT NULL DEFAULT 0 CHECK (moved IN (0, 1));
