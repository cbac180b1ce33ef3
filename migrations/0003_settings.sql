-- Non-secret settings, one row per setting: key = the field name of softphone_core's Settings,
-- value = its JSON. Keys a version does not know are kept for the version that wrote them.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
