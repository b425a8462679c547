-- pgbench script of the change-write baseline: the rows one validated REQUESTED change of an existing or new
-- customer commits in the hub (LoadGen --mode post), in one transaction, one statement per round trip, against empty
-- twins of the hub's tables (same columns and indexes) in a database of their own. Sizes follow the hub's rows: the
-- change request's JSON (~900 bytes), the sealed personal data (95 bytes), two ledger entries with their hashes and
-- about two Merkle tree nodes per entry. The appends take the ledger head's row lock, as the hub's do. No outbox row:
-- the write workload's source system has no destination, so the hub writes none either.
-- Run with -M prepared: the variables are then parameters, so a uuid needs no quoting.
--   pgbench -n -M prepared -D customers=1000 -f bench/pgbench/change.sql
\set n random(1, :customers)
BEGIN;
-- Insert-if-new then update, as the hub reads then writes the record. Not one INSERT … ON CONFLICT DO UPDATE: that
-- names one unique index, and two clients creating the same customer at once would collide on the other one.
INSERT INTO customers ("SourceSystemId", "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "Language", "Country", "CreatedAt")
  VALUES (1, 'bench', 'toyota', 'crm', 'c' || :n, 'en', 'GB', now())
  ON CONFLICT DO NOTHING;
UPDATE customers SET "Language" = 'en', "Country" = 'GB' WHERE "SourceSystemId" = 1 AND "SourceCustomerId" = 'c' || :n
  RETURNING "Id" AS customer \gset
INSERT INTO person_keys ("CustomerId", "ProtectedKey", "CreatedAt") VALUES (:customer, repeat('k', 184), now())
  ON CONFLICT DO NOTHING;
UPDATE ledger_head SET "NextIndex" = "NextIndex" + 2, "LastHash" = md5(random()::text) || md5(random()::text),
    "Frontier" = decode(repeat('ab', 96), 'hex')
  WHERE "Id" = 1 RETURNING "NextIndex" - 2 AS first \gset
INSERT INTO change_requests ("Id", "CustomerId", "Status", "Validated", "CommandTimestamp", "Data", "SubmittedBy", "ReceivedAt", "AppliedAt", "Sequence", "OutcomeLedgerIndex")
  VALUES (gen_random_uuid(), :customer, 'APPLIED', true, now(), repeat('d', 900), 'client_570b5cff7f3a9399fe2aa0c6', now(), now(), :first, :first + 1)
  RETURNING "Id" AS change \gset
INSERT INTO personal_data ("CustomerId", "Kind", "Reference", "Sealed", "UpdatedAt")
  VALUES (:customer, 'change-request', :change, decode(repeat('cd', 95), 'hex'), now());
INSERT INTO personal_data ("CustomerId", "Kind", "Reference", "Sealed", "UpdatedAt")
  VALUES (:customer, 'contact', 'contact-' || :customer, decode(repeat('ef', 95), 'hex'), now())
  ON CONFLICT ("Kind", "Reference") DO UPDATE SET "Sealed" = EXCLUDED."Sealed", "UpdatedAt" = EXCLUDED."UpdatedAt";
INSERT INTO consent_entries ("CustomerId", "Code", "Flag", "Description", "RequestedAt", "ValidatedAt", "OriginSourceSystem", "ChangeRequestId", "Sequence")
  VALUES (:customer, 'OFFERS', random() < 0.5, 'Offers', now(), now(), 'crm', :change, :first)
  ON CONFLICT ("CustomerId", "Code") DO UPDATE SET "Flag" = EXCLUDED."Flag", "RequestedAt" = EXCLUDED."RequestedAt",
    "ValidatedAt" = EXCLUDED."ValidatedAt", "ChangeRequestId" = EXCLUDED."ChangeRequestId", "Sequence" = EXCLUDED."Sequence";
INSERT INTO channel_entries ("CustomerId", "Code", "Flag", "RequestedAt", "OriginSourceSystem", "ChangeRequestId", "Sequence")
  VALUES (:customer, 'EMAIL', true, now(), 'crm', :change, :first)
  ON CONFLICT ("CustomerId", "Code") DO UPDATE SET "Flag" = EXCLUDED."Flag", "RequestedAt" = EXCLUDED."RequestedAt",
    "ChangeRequestId" = EXCLUDED."ChangeRequestId", "Sequence" = EXCLUDED."Sequence";
INSERT INTO ledger_entries ("Index", "Type", "Timestamp", "Payload", "PrevHash", "Hash")
  VALUES (:first, 'change-received', now(), repeat('r', 330), md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text)),
         (:first + 1, 'change-applied', now(), repeat('a', 150), md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text));
-- The leaves, their parent, and the larger subtrees they complete (on average about two nodes an entry).
INSERT INTO ledger_tree_nodes ("Level", "Index", "Hash")
  SELECT level, (:first + 1) >> level, decode(md5(random()::text) || md5(random()::text), 'hex')
  FROM generate_series(1, 3) AS level WHERE ((:first + 2) & ((1 << level) - 1)) = 0
  UNION ALL SELECT 0, :first, decode(md5(random()::text) || md5(random()::text), 'hex')
  UNION ALL SELECT 0, :first + 1, decode(md5(random()::text) || md5(random()::text), 'hex');
COMMIT;
