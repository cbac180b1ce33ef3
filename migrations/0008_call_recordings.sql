-- Recordings Telnyx made of a call (Call Control), downloaded into the app's data folder.
CREATE TABLE call_recordings (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    -- Telnyx's recording id: a recording is kept once.
    telnyx_id TEXT NOT NULL UNIQUE,
    -- The WAV file, relative to the data folder.
    file TEXT NOT NULL,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX call_recordings_by_call ON call_recordings (call_id, id);
