-- Large imports commit their leads first and index them afterwards, in the background
-- (crates/store/src/index.rs), so an import no longer holds its transaction open while FTS5
-- indexes a million rows.
--
-- fts_sync.pending_from keeps its meaning from 0001, now across transactions and restarts: leads
-- with an id at or above it are not in leads_fts yet (the background indexer adds them in chunks
-- and moves the mark up; NULL when every lead is indexed); leads below it are kept in sync by the
-- triggers. The insert trigger now tests the new id the way the update and delete triggers test
-- the old one: a lead created below the mark (an id freed by deleting the newest lead) is indexed
-- at once, one at or above it is left to the indexer.

DROP TRIGGER leads_fts_insert;

CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads
WHEN new.id < coalesce((SELECT pending_from FROM fts_sync), new.id + 1)
BEGIN
    INSERT INTO leads_fts (rowid, name, company, email, city, notes, tags)
    VALUES (new.id, new.name, new.company, new.email, new.city, new.notes, new.tags);
END;
