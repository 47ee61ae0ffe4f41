-- A batch of four text messages in four direct chats as the relay writes it today: the counter
-- lock, then per message its roster, the blocks involving the sender and the insert that takes
-- the next sequence number (server/src/ops/messages.rs, server/src/store/postgres). Relays in a
-- cluster also take a send-limit token per message, which this leaves out.
\set b random(1, 496)
\set s random(1, 900000000000)
\set c0 :b + 0
\set u0 2 * :c0
\set s0 :s + 0
\set c1 :b + 1
\set u1 2 * :c1
\set s1 :s + 1
\set c2 :b + 2
\set u2 2 * :c2
\set s2 :s + 2
\set c3 :b + 3
\set u3 2 * :c3
\set s3 :s + 3
BEGIN;
SELECT value FROM meta WHERE key = 'change_version' FOR UPDATE;
SELECT c.kind, m.user_id, m.accepted FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = :c0;
SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = :u0 OR blocked_id = :u0;
WITH next AS (UPDATE conversations SET last_seq = last_seq + 1, last_activity = 5 WHERE id = :c0 RETURNING last_seq) INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) SELECT :c0, next.last_seq, :u0, 'c' || :s0, 'hello there', 5, 'text' FROM next ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq;
SELECT c.kind, m.user_id, m.accepted FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = :c1;
SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = :u1 OR blocked_id = :u1;
WITH next AS (UPDATE conversations SET last_seq = last_seq + 1, last_activity = 5 WHERE id = :c1 RETURNING last_seq) INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) SELECT :c1, next.last_seq, :u1, 'c' || :s1, 'hello there', 5, 'text' FROM next ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq;
SELECT c.kind, m.user_id, m.accepted FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = :c2;
SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = :u2 OR blocked_id = :u2;
WITH next AS (UPDATE conversations SET last_seq = last_seq + 1, last_activity = 5 WHERE id = :c2 RETURNING last_seq) INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) SELECT :c2, next.last_seq, :u2, 'c' || :s2, 'hello there', 5, 'text' FROM next ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq;
SELECT c.kind, m.user_id, m.accepted FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = :c3;
SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = :u3 OR blocked_id = :u3;
WITH next AS (UPDATE conversations SET last_seq = last_seq + 1, last_activity = 5 WHERE id = :c3 RETURNING last_seq) INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) SELECT :c3, next.last_seq, :u3, 'c' || :s3, 'hello there', 5, 'text' FROM next ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq;
COMMIT;
