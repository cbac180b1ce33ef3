-- A narrower, faster full-text index (see LEARNINGS.md, store benchmark).
--
-- Numbers leave the full-text index: phone-digit search reads the B-tree indexes on
-- leads.phone (UNIQUE) and leads.national_digits instead. The two digit columns were a third of
-- the index and most of its distinct terms (two unique 10-11 digit tokens per lead, each with
-- its prefixes), so an import spent about half its indexing time on them.
--
-- detail=column: the index keeps which column a word is in but not its position; search never
-- uses phrases or NEAR, and bm25 column weights still work.
--
-- prefix='1 2 3 4 5 6': a prefix query on an indexed length streams its matches newest first;
-- any other length makes FTS5 merge every matching word's list in memory first (measured 15-45
-- ms for a 1- or 5-letter prefix on 1M leads), so every length an agent types while looking
-- for a name is indexed.
--
-- Existing databases are transformed in place: the index is rebuilt from the leads table.

DROP TRIGGER leads_fts_insert;
DROP TRIGGER leads_fts_delete;
DROP TRIGGER leads_fts_update;
DROP TABLE leads_fts;

CREATE VIRTUAL TABLE leads_fts USING fts5 (
    name, company, email, city, notes, tags,
    content = 'leads',
    content_rowid = 'id',
    prefix = '1 2 3 4 5 6',
    detail = column,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Rank: bm25 weighted towards the fields an agent types first (name, then company).
INSERT INTO leads_fts (leads_fts, rank) VALUES ('rank', 'bm25(10.0, 6.0, 3.0, 2.0, 1.0, 2.0)');

-- The triggers work as in 0001: rows from fts_sync.pending_from on belong to a running import,
-- which indexes them in one statement at its end.
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads
WHEN (SELECT pending_from FROM fts_sync) IS NULL
BEGIN
    INSERT INTO leads_fts (rowid, name, company, email, city, notes, tags)
    VALUES (new.id, new.name, new.company, new.email, new.city, new.notes, new.tags);
END;

CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads
WHEN old.id < coalesce((SELECT pending_from FROM fts_sync), old.id + 1)
BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, name, company, email, city, notes, tags)
    VALUES ('delete', old.id, old.name, old.company, old.email, old.city, old.notes, old.tags);
END;

CREATE TRIGGER leads_fts_update AFTER UPDATE OF name, company, email, city, notes, tags ON leads
WHEN old.id < coalesce((SELECT pending_from FROM fts_sync), old.id + 1)
BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, name, company, email, city, notes, tags)
    VALUES ('delete', old.id, old.name, old.company, old.email, old.city, old.notes, old.tags);
    INSERT INTO leads_fts (rowid, name, company, email, city, notes, tags)
    VALUES (new.id, new.name, new.company, new.email, new.city, new.notes, new.tags);
END;

UPDATE fts_sync SET pending_from = NULL;
INSERT INTO leads_fts (leads_fts) VALUES ('rebuild');
