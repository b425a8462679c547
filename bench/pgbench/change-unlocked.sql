-- pgbench script of the unlocked change-write baseline: the same rows as bench/pgbench/change.sql, in one transaction,
-- but the ledger indices come from a sequence instead of the ledger head's row, so no client waits for another's commit.
-- It measures what the machine can write for a change when nothing serialises the commits: the figure a group commit
-- of the ledger aims at. Needs the sequence: CREATE SEQUENCE ledger_index START 0 MINVALUE 0.
--   pgbench -n -M prepared -D customers=1000 -f bench/pgbench/change-unlocked.sql
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
-- Two indices, as two appends take; even numbers only, so that a change's two entries are first and first + 1.
SELECT 2 * nextval('ledger_index') AS first \gset
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
