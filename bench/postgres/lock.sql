-- A batch's frame: begin, the change counter's row lock every batch takes first, commit.
BEGIN;
SELECT value FROM meta WHERE key = 'change_version' FOR UPDATE;
COMMIT;
