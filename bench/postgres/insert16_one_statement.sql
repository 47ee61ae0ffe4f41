-- Sixteen message rows in one multi-row statement.
\set u random(1, 1000)
\set conv (:u + 1) / 2
\set s random(1, 9000000000000)
BEGIN;
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) SELECT :conv, :s::bigint + i, :u, 'c' || (:s::bigint + i), 'hello there', 5, 'text' FROM generate_series(0,15) i;
COMMIT;
