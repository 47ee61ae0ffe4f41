-- One conversation's sequence bump (the first half of a message's write), alone in a transaction.
\set u random(1, 1000)
\set conv (:u + 1) / 2
BEGIN;
UPDATE conversations SET last_seq = last_seq + 1, last_activity = 5 WHERE id = :conv RETURNING last_seq;
COMMIT;
