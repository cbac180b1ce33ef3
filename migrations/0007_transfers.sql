-- A call the agent handed on (Call Control transfer): to whom.
ALTER TABLE calls ADD COLUMN transferred_to TEXT;
