-- Moderation: a hidden issue is gone from every public output (the index,
-- tiles, exports, statistics) but kept for staff; a redacted issue's public
-- description was replaced (the original survives only in the audit log).

ALTER TABLE issues ADD COLUMN hidden_at TEXT;
ALTER TABLE issues ADD COLUMN hidden_reason TEXT CHECK (length(hidden_reason) BETWEEN 1 AND 500);
ALTER TABLE issues ADD COLUMN redacted_at TEXT;
