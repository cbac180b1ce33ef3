-- A team on PostgreSQL (issue 21). This file stays the agent's working copy: the agent's own
-- changes wait in an outbox (written by triggers, in the same transaction as the change) until
-- the team database takes them; the team's changes come back into team_calls and team_notes.

-- Every call gets a global id when it starts: the team database's call id, so a call sent twice
-- lands once. Calls logged before this version have none and are never sent.
ALTER TABLE calls ADD COLUMN uuid TEXT;
CREATE UNIQUE INDEX calls_uuid ON calls (uuid) WHERE uuid IS NOT NULL;
-- When the agent set the disposition (a later one by the same agent wins on the team).
ALTER TABLE calls ADD COLUMN disposition_at INTEGER;

-- A lead claimed from a team campaign: its id in the team database and its campaign.
ALTER TABLE leads ADD COLUMN team_lead_id INTEGER;
ALTER TABLE leads ADD COLUMN team_campaign TEXT;
CREATE UNIQUE INDEX leads_team_lead ON leads (team_lead_id) WHERE team_lead_id IS NOT NULL;

CREATE TABLE team_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    -- Where the team database is and the agent's login (the password is in the keychain).
    url      TEXT,
    login    TEXT,
    -- This computer works for a team: local changes are queued for it.
    team_id  TEXT,
    agent_id TEXT,
    -- Set while the team's own changes are written here, so they are not queued back.
    applying INTEGER NOT NULL DEFAULT 0 CHECK (applying IN (0, 1)),
    -- Where the reader of the team's change feed stands.
    feed_tx  INTEGER NOT NULL DEFAULT 0,
    feed_id  INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO team_state (id) VALUES (1);

CREATE TABLE team_outbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The idempotency key: one entry per thing to send; the team database keeps it once.
    key       TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL CHECK (kind IN ('call', 'disposition', 'note', 'do_not_call', 'lead_edit')),
    -- The local row it is read from when sent: a call's or a lead's id, or a number.
    ref       TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 0,
    -- The team database's sentence when it refused the change: kept, shown, not retried.
    refused   TEXT
) STRICT;

-- Teammates' calls (this agent's own are in calls).
CREATE TABLE team_calls (
    uuid          TEXT PRIMARY KEY,
    agent         TEXT NOT NULL,
    lead_id       INTEGER REFERENCES leads (id) ON DELETE SET NULL,
    team_lead_id  INTEGER,
    direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    remote_number TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER,
    talk_seconds  INTEGER NOT NULL DEFAULT 0,
    disposition   TEXT,
    disposition_at INTEGER
) STRICT;
CREATE INDEX team_calls_lead ON team_calls (lead_id, started_at DESC);
CREATE INDEX team_calls_team_lead ON team_calls (team_lead_id);

-- Teammates' notes: append-only.
CREATE TABLE team_notes (
    id           TEXT PRIMARY KEY,
    agent        TEXT NOT NULL,
    lead_id      INTEGER REFERENCES leads (id) ON DELETE SET NULL,
    team_lead_id INTEGER,
    call_uuid    TEXT,
    body         TEXT NOT NULL,
    written_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX team_notes_lead ON team_notes (lead_id, written_at DESC);
CREATE INDEX team_notes_team_lead ON team_notes (team_lead_id);

-- The outbox's writers. Each fires only on a team computer, and not for the team's own changes.
CREATE TRIGGER team_queue_call AFTER UPDATE OF state ON calls
    WHEN OLD.state = 'in_progress' AND NEW.state <> 'in_progress' AND NEW.uuid IS NOT NULL
     AND (SELECT team_id IS NOT NULL AND applying = 0 FROM team_state)
BEGIN
    INSERT OR IGNORE INTO team_outbox (key, kind, ref, queued_at)
    VALUES ('call:' || NEW.uuid, 'call', NEW.id, coalesce(NEW.ended_at, NEW.started_at));
END;

CREATE TRIGGER team_queue_disposition AFTER UPDATE OF disposition ON calls
    WHEN NEW.disposition IS NOT NULL AND NEW.disposition IS NOT OLD.disposition AND NEW.uuid IS NOT NULL
     AND (SELECT team_id IS NOT NULL AND applying = 0 FROM team_state)
BEGIN
    INSERT OR REPLACE INTO team_outbox (key, kind, ref, queued_at)
    VALUES ('disposition:' || NEW.uuid, 'disposition', NEW.id, coalesce(NEW.disposition_at, NEW.started_at));
END;

CREATE TRIGGER team_queue_note AFTER UPDATE OF note ON calls
    WHEN NEW.note <> '' AND NEW.note IS NOT OLD.note AND NEW.uuid IS NOT NULL
     AND (SELECT team_id IS NOT NULL AND applying = 0 FROM team_state)
BEGIN
    INSERT OR REPLACE INTO team_outbox (key, kind, ref, queued_at)
    VALUES ('note:' || NEW.uuid, 'note', NEW.id, coalesce(NEW.disposition_at, NEW.started_at));
END;

CREATE TRIGGER team_queue_do_not_call AFTER INSERT ON do_not_call
    WHEN (SELECT team_id IS NOT NULL AND applying = 0 FROM team_state)
BEGIN
    INSERT OR IGNORE INTO team_outbox (key, kind, ref, queued_at)
    VALUES ('do_not_call:' || NEW.number, 'do_not_call', NEW.number, NEW.added_at);
END;

CREATE TRIGGER team_queue_lead_edit AFTER UPDATE OF name, company, email, city, notes, tags ON leads
    WHEN NEW.team_lead_id IS NOT NULL
     AND (NEW.name, NEW.company, NEW.email, NEW.city, NEW.notes, NEW.tags)
         IS NOT (OLD.name, OLD.company, OLD.email, OLD.city, OLD.notes, OLD.tags)
     AND (SELECT team_id IS NOT NULL AND applying = 0 FROM team_state)
BEGIN
    INSERT OR REPLACE INTO team_outbox (key, kind, ref, queued_at)
    VALUES ('lead_edit:' || NEW.team_lead_id, 'lead_edit', NEW.id, NEW.updated_at);
END;
