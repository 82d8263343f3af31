-- What the action runner did with a receiver's 2xx answer: a JSON array with one entry
-- per action (path, type, ok, result or error), set when the run ends. NULL when the
-- answer carried no actions.
ALTER TABLE webhook_attempts ADD COLUMN actions LONGTEXT;
