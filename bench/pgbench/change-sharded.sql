-- pgbench script for docs/scale-out.md: the rows of bench/pgbench/change.sql, with one ledger per organisation. Each
-- transaction belongs to one of :orgs organisations (at random) and takes only that organisation's ledger head's row
-- lock, so changes of different organisations no longer wait for each other's commits. Indices are the organisation's
-- own (each chain starts at 0), offset by 10^12 per organisation to share the twin tables' primary keys. Needs
-- ledger_head rows 1 … :orgs.
--   pgbench -n -M prepared -D customers=1000 -D orgs=16 -f bench/pgbench/change-sharded.sql
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
UPDATE ledger_head SET "NextIndex" = "NextIndex" + 2, "LastHash" = md5(random()::text) || md5(random()::text),
    "Frontier" = decode(repeat('ab', 96), 'hex')
  WHERE "Id" = :org RETURNING :org::bigint * 1000000000000 + "NextIndex" - 2 AS first \gset
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
