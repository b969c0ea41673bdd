-- Written and deleted again in one transaction by the health check's write
-- probe (`SqliteStore::check_writes`): never holds a row once committed.
CREATE TABLE storage_probe (
    id INTEGER PRIMARY KEY,
    filler BLOB NOT NULL
);
