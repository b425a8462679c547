-- pgbench script of the change-write baselines: the rows one validated REQUESTED change of an existing or new customer
-- commits in the hub (LoadGen --mode post), in one transaction, one statement per round trip, against empty twins of the
-- hub's tables (same columns and indexes) in a database of their own. Sizes follow the hub's rows: the change
-- request's JSON (~900 bytes), the sealed personal data (95 bytes), two ledger entries with their hashes and about two
-- Merkle tree nodes per entry. No outbox row: the write workload's source system has no destination, so the hub writes
-- none either. Run with -M prepared: the variables are then parameters, so a uuid needs no quoting.
--
-- Three ways of taking the two ledger indices, chosen with -D:
--   unlocked=0 orgs=1   the ledger head's row lock, as the hub's appends take it today (the locked baseline);
--   unlocked=0 orgs=N   one ledger head per organisation, each change in one of N at random: only changes of the same
--                       organisation wait for each other (docs/scale-out.md); needs ledger_head rows 1 … N;
--   unlocked=1          a sequence, no lock held across the commit: what the machine writes when nothing serialises
--                       the commits (the unlocked baseline); needs CREATE SEQUENCE ledger_index START 0 MINVALUE 0.
-- Indices are offset by 10^12 per organisation so that the organisations' chains share the twin tables' keys.
--   pgbench -n -M prepared -D customers=1000 -D orgs=1 -D unlocked=0 -f bench/pgbench/change.sql
\set n random(1, :customers)
\set org random(1, :orgs)
BEGIN;
-- Insert-if-new then update, as the hub reads then writes the record. Not one INSERT … ON CONFLICT DO UPDATE: that
-- names one unique index, and two clients creating the same customer at once would collide on the other one.
INSERT INTO customers ("SourceSystemId", "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "Language", "Country", "CreatedAt")
  VALUES (1, 'bench', 'toyota', 'crm', 'c' || :org || '-' || :n, 'en', 'GB', now())
  ON CONFLICT DO NOTHING;
UPDATE customers SET "Language" = 'en', "Country" = 'GB' WHERE "SourceSystemId" = 1 AND "SourceCustomerId" = 'c' || :org || '-' || :n
  RETURNING "Id" AS customer \gset
INSERT INTO person_keys ("CustomerId", "ProtectedKey", "CreatedAt") VALUES (:customer, repeat('k', 184), now())
  ON CONFLICT DO NOTHING;
\if :unlocked
-- Two indices, as two appends take; even numbers only, so that a change's two entries are first and first + 1.
SELECT 2 * nextval('ledger_index') AS first \gset
\else
UPDATE ledger_head SET "NextIndex" = "NextIndex" + 2, "LastHash" = md5(random()::text) || md5(random()::text),
    "Frontier" = decode(repeat('ab', 96), 'hex')
  WHERE "Id" = :org RETURNING :org::bigint * 1000000000000 + "NextIndex" - 2 AS first \gset
\endif
INSERT INTO change_requests ("Id", "CustomerId", "Status", "Validated", "CommandTimestamp", "Data", "SubmittedBy", "ReceivedAt", "AppliedAt", "Sequence", "OutcomeLedgerIndex")
  VALUES (gen_random_uuid(), :customer, 'APPLIED', true, now(), repeat('d', 900), 'client_570b5cff7f3a9399fe2aa0c6', now(), now(), :first::bigint, :first::bigint + 1)
  RETURNING "Id" AS change \gset
INSERT INTO personal_data ("CustomerId", "Kind", "Reference", "Sealed", "UpdatedAt")
  VALUES (:customer, 'change-request', :change, decode(repeat('cd', 95), 'hex'), now());
INSERT INTO personal_data ("CustomerId", "Kind", "Reference", "Sealed", "UpdatedAt")
  VALUES (:customer, 'contact', 'contact-' || :customer, decode(repeat('ef', 95), 'hex'), now())
  ON CONFLICT ("Kind", "Reference") DO UPDATE SET "Sealed" = EXCLUDED."Sealed", "UpdatedAt" = EXCLUDED."UpdatedAt";
INSERT INTO consent_entries ("CustomerId", "Code", "Flag", "Description", "RequestedAt", "ValidatedAt", "OriginSourceSystem", "ChangeRequestId", "Sequence")
  VALUES (:customer, 'OFFERS', random() < 0.5, 'Offers', now(), now(), 'crm', :change, :first::bigint)
  ON CONFLICT ("CustomerId", "Code") DO UPDATE SET "Flag" = EXCLUDED."Flag", "RequestedAt" = EXCLUDED."RequestedAt",
    "ValidatedAt" = EXCLUDED."ValidatedAt", "ChangeRequestId" = EXCLUDED."ChangeRequestId", "Sequence" = EXCLUDED."Sequence";
INSERT INTO channel_entries ("CustomerId", "Code", "Flag", "RequestedAt", "OriginSourceSystem", "ChangeRequestId", "Sequence")
  VALUES (:customer, 'EMAIL', true, now(), 'crm', :change, :first::bigint)
  ON CONFLICT ("CustomerId", "Code") DO UPDATE SET "Flag" = EXCLUDED."Flag", "RequestedAt" = EXCLUDED."RequestedAt",
    "ChangeRequestId" = EXCLUDED."ChangeRequestId", "Sequence" = EXCLUDED."Sequence";
INSERT INTO ledger_entries ("Index", "Type", "Timestamp", "Payload", "PrevHash", "Hash")
  VALUES (:first::bigint, 'change-received', now(), repeat('r', 330), md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text)),
         (:first::bigint + 1, 'change-applied', now(), repeat('a', 150), md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text));
-- The leaves, their parent, and the larger subtrees they complete (on average about two nodes an entry).
INSERT INTO ledger_tree_nodes ("Level", "Index", "Hash")
  SELECT level, (:first::bigint + 1) >> level, decode(md5(random()::text) || md5(random()::text), 'hex')
  FROM generate_series(1, 3) AS level WHERE ((:first::bigint + 2) & ((1 << level) - 1)) = 0
  UNION ALL SELECT 0, :first::bigint, decode(md5(random()::text) || md5(random()::text), 'hex')
  UNION ALL SELECT 0, :first::bigint + 1, decode(md5(random()::text) || md5(random()::text), 'hex');
COMMIT;
