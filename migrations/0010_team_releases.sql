-- A team lead given back (its wrap-up saved, skipped, or the session stopped) waits here until the
-- team database takes it, like the outbox: a wrap-up saved while the team was away still finishes
-- the lead for the team when it is back, and a crash in between loses nothing. One row a lead:
-- a later give-back replaces an earlier one.
CREATE TABLE team_releases (
    team_lead_id   INTEGER PRIMARY KEY,
    -- Done for the whole team (a sale, a wrong number), or back for anyone.
    finished       INTEGER NOT NULL CHECK (finished IN (0, 1)),
    disposition    TEXT,
    -- Not finished: kept from everyone this long (the gap between attempts).
    retry_after_ms INTEGER CHECK (retry_after_ms IS NULL OR retry_after_ms >= 0),
    queued_at      INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Calls → Team calls lists the newest teammates' calls: read from this index, not a sort of all.
CREATE INDEX team_calls_started ON team_calls (started_at DESC, uuid);
