-- The dialer (issue 18): what its rules need of a lead, and the do-not-call list.
--
-- Attempts and the latest attempt are not stored here: they are the lead's outbound calls in
-- the call log (calls_lead index), so they can never disagree with it.

-- Marked do-not-call: never dialled, by the dialer or by hand.
ALTER TABLE leads ADD COLUMN do_not_call INTEGER NOT NULL DEFAULT 0 CHECK (do_not_call IN (0, 1));
-- An IANA time-zone name from an import's time-zone column; '' when unknown.
ALTER TABLE leads ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
-- Unix milliseconds of a promised callback.
ALTER TABLE leads ADD COLUMN callback_due_at INTEGER;

CREATE INDEX leads_callback_due ON leads (callback_due_at) WHERE callback_due_at IS NOT NULL;

-- Numbers never to be dialled, whoever they belong to (E.164). Checked on every dial.
CREATE TABLE do_not_call (
    number   TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL,
    -- Where it came from: the file it was imported from, or 'manual'.
    source   TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- The dialing session in progress (one at most), as JSON: a restart resumes it at the same lead.
CREATE TABLE dialing_session (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    session TEXT NOT NULL
) STRICT;
