-- The dialer's call list reads, for every lead it may hold, the lead's attempts, its latest
-- attempt, whether its number is on the do-not-call list, and its tags. Counting calls and probing
-- the list per lead at each build cost 400+ ms over 1M leads (LEARNINGS, session 13), so they are
-- kept on the lead now, by triggers: whatever writes the call log, the do-not-call list or a
-- lead's tags, these follow in the same transaction and cannot disagree with them.

-- The lead's outbound calls in the call log, and the latest one's start.
ALTER TABLE leads ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN last_attempt_at INTEGER;
-- The lead's number is on the do-not-call list.
ALTER TABLE leads ADD COLUMN listed INTEGER NOT NULL DEFAULT 0 CHECK (listed IN (0, 1));

UPDATE leads
   SET attempts = (SELECT count(*) FROM calls WHERE calls.lead_id = leads.id AND calls.direction = 'outbound'),
       last_attempt_at = (SELECT max(calls.started_at) FROM calls
                           WHERE calls.lead_id = leads.id AND calls.direction = 'outbound'),
       listed = EXISTS (SELECT 1 FROM do_not_call WHERE do_not_call.number = leads.phone);

CREATE TRIGGER calls_attempt_insert AFTER INSERT ON calls
WHEN NEW.direction = 'outbound' AND NEW.lead_id IS NOT NULL
BEGIN
    UPDATE leads SET attempts = attempts + 1,
                     last_attempt_at = max(coalesce(last_attempt_at, NEW.started_at), NEW.started_at)
     WHERE id = NEW.lead_id;
END;

-- A call linked to another lead, or otherwise changed where it counts: both leads recounted.
CREATE TRIGGER calls_attempt_update AFTER UPDATE OF lead_id, direction, started_at ON calls
BEGIN
    UPDATE leads
       SET attempts = (SELECT count(*) FROM calls WHERE calls.lead_id = leads.id AND calls.direction = 'outbound'),
           last_attempt_at = (SELECT max(calls.started_at) FROM calls
                               WHERE calls.lead_id = leads.id AND calls.direction = 'outbound')
     WHERE id IN (OLD.lead_id, NEW.lead_id);
END;

CREATE TRIGGER calls_attempt_delete AFTER DELETE ON calls
WHEN OLD.direction = 'outbound' AND OLD.lead_id IS NOT NULL
BEGIN
    UPDATE leads
       SET attempts = (SELECT count(*) FROM calls WHERE calls.lead_id = leads.id AND calls.direction = 'outbound'),
           last_attempt_at = (SELECT max(calls.started_at) FROM calls
                               WHERE calls.lead_id = leads.id AND calls.direction = 'outbound')
     WHERE id = OLD.lead_id;
END;

CREATE TRIGGER do_not_call_lists_lead AFTER INSERT ON do_not_call
BEGIN
    UPDATE leads SET listed = 1 WHERE phone = NEW.number;
END;

CREATE TRIGGER do_not_call_unlists_lead AFTER DELETE ON do_not_call
BEGIN
    UPDATE leads SET listed = 0 WHERE phone = OLD.number;
END;

CREATE TRIGGER leads_listed_insert AFTER INSERT ON leads
WHEN EXISTS (SELECT 1 FROM do_not_call WHERE do_not_call.number = NEW.phone)
BEGIN
    UPDATE leads SET listed = 1 WHERE id = NEW.id;
END;

CREATE TRIGGER leads_listed_phone AFTER UPDATE OF phone ON leads
BEGIN
    UPDATE leads SET listed = EXISTS (SELECT 1 FROM do_not_call WHERE do_not_call.number = NEW.phone)
     WHERE id = NEW.id;
END;

-- Each lead's tags, one row each, ASCII-lowercased and trimmed (how a call list compares them):
-- a list by tag reads its leads through this index instead of every lead's tags. `tag_list` is
-- the store's SQL function (`crates/store/src/lib.rs`): the tags as a JSON array.
CREATE TABLE lead_tags (
    tag     TEXT NOT NULL,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, lead_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX lead_tags_lead ON lead_tags (lead_id);

INSERT OR IGNORE INTO lead_tags (tag, lead_id)
SELECT tag.value, leads.id FROM leads, json_each(tag_list(leads.tags)) AS tag WHERE leads.tags <> '';

-- A new lead's tags are written by the store itself with the lead (a trigger cost 10 us a lead on
-- a 1M-lead import: the function call and json_each); changed tags follow by this trigger.
CREATE TRIGGER leads_tags_update AFTER UPDATE OF tags ON leads
BEGIN
    DELETE FROM lead_tags WHERE lead_id = OLD.id;
    INSERT OR IGNORE INTO lead_tags (tag, lead_id) SELECT value, NEW.id FROM json_each(tag_list(NEW.tags));
END;
