-- One message row, alone in a transaction (the second half of a message's write).
\set u random(1, 1000)
\set conv (:u + 1) / 2
\set s random(1, 9000000000000)
BEGIN;
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:conv, :s, :u, 'c' || :s, 'hello there', 5, 'text') ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq;
COMMIT;
