-- Four message rows, four statements, one transaction.
\set u random(1, 1000)
\set conv (:u + 1) / 2
\set s random(1, 9000000000000)
\set s1 :s + 1
\set s2 :s + 2
\set s3 :s + 3
BEGIN;
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:conv, :s, :u, 'c' || :s, 'hello there', 5, 'text');
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:conv, :s1, :u, 'c' || :s1, 'hello there', 5, 'text');
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:conv, :s2, :u, 'c' || :s2, 'hello there', 5, 'text');
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:conv, :s3, :u, 'c' || :s3, 'hello there', 5, 'text');
COMMIT;
