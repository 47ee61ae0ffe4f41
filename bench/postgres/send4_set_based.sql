-- The same batch written set-based: one read of the four rosters (locking the conversations), one
-- of the blocks, one duplicate check, then every row and sequence bump in one statement.
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
SELECT c.id, c.kind, c.last_seq, m.user_id, m.accepted FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.active WHERE c.id = ANY(ARRAY[:c0,:c1,:c2,:c3]::bigint[]) FOR UPDATE OF c;
SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id = ANY(ARRAY[:u0,:u1,:u2,:u3]::bigint[]) OR blocked_id = ANY(ARRAY[:u0,:u1,:u2,:u3]::bigint[]);
SELECT k.s, k.c FROM unnest(ARRAY[:u0,:u1,:u2,:u3]::bigint[], ARRAY['c' || :s0,'c' || :s1,'c' || :s2,'c' || :s3]::text[]) AS k(s, c) WHERE EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = k.s AND m.client_id = k.c);
WITH ins AS (INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind) VALUES (:c0::bigint, (SELECT last_seq FROM conversations WHERE id = :c0) + 1, :u0::bigint, 'c' || :s0, 'hello there', 5::bigint, 'text'),(:c1::bigint, (SELECT last_seq FROM conversations WHERE id = :c1) + 1, :u1::bigint, 'c' || :s1, 'hello there', 5::bigint, 'text'),(:c2::bigint, (SELECT last_seq FROM conversations WHERE id = :c2) + 1, :u2::bigint, 'c' || :s2, 'hello there', 5::bigint, 'text'),(:c3::bigint, (SELECT last_seq FROM conversations WHERE id = :c3) + 1, :u3::bigint, 'c' || :s3, 'hello there', 5::bigint, 'text') RETURNING conversation_id, seq) UPDATE conversations c SET last_seq = i.seq, last_activity = 5 FROM ins i WHERE c.id = i.conversation_id;
COMMIT;
