-- The status workflow: departments and the rules that route new issues to
-- them, every status change as an event, and the workflow's columns on issues.

CREATE TABLE departments (
    code    TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 64),
    name_kk TEXT NOT NULL CHECK (length(name_kk) BETWEEN 1 AND 200),
    name_ru TEXT NOT NULL CHECK (length(name_ru) BETWEEN 1 AND 200),
    name_en TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 200)
);

-- A category's department, per district or (district_code NULL) in any
-- district. The category '*' names the city's fallback department.
CREATE TABLE routing_rules (
    category      TEXT NOT NULL CHECK (length(category) BETWEEN 1 AND 64),
    district_code TEXT CHECK (length(district_code) BETWEEN 1 AND 64),
    department    TEXT NOT NULL REFERENCES departments (code)
);

-- NULL is "any district": one such rule per category (a plain UNIQUE would
-- let NULLs repeat).
CREATE UNIQUE INDEX routing_rules_unique ON routing_rules (category, coalesce(district_code, ''));

CREATE TABLE issue_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id         INTEGER NOT NULL REFERENCES issues (id),
    at               TEXT    NOT NULL,
    -- No foreign key: users live in the accounts schema, and an event must
    -- outlive the account that made it.
    actor_user_id    INTEGER,
    actor_role       TEXT    NOT NULL CHECK (actor_role IN ('resident', 'moderator', 'staff', 'planner', 'admin', 'integration')),
    actor_department TEXT    CHECK (length(actor_department) BETWEEN 1 AND 64),
    -- Only when the person opted in to be named on their public actions.
    actor_name       TEXT    CHECK (length(actor_name) BETWEEN 1 AND 200),
    from_status      TEXT    NOT NULL CHECK (from_status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate')),
    to_status        TEXT    NOT NULL CHECK (to_status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate')),
    note             TEXT    CHECK (length(note) BETWEEN 1 AND 2000),
    -- Private: never part of any public output.
    internal_note    TEXT    CHECK (length(internal_note) BETWEEN 1 AND 2000),
    duplicate_of     INTEGER REFERENCES issues (id)
);

CREATE INDEX issue_events_by_issue ON issue_events (issue_id, id);

ALTER TABLE issues ADD COLUMN acknowledged_at TEXT;
ALTER TABLE issues ADD COLUMN resolved_at TEXT;
-- No foreign key: a city's departments are replaced as a whole, and issues
-- keep the department they were routed to.
ALTER TABLE issues ADD COLUMN assigned_department TEXT CHECK (length(assigned_department) BETWEEN 1 AND 64);
ALTER TABLE issues ADD COLUMN duplicate_of INTEGER REFERENCES issues (id) CHECK (duplicate_of <> id);

CREATE INDEX issues_assigned_department ON issues (assigned_department);
