using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <summary>
    /// SQL read access (issue 18 §2, PostgreSQL only): the schema <c>consent_read</c> with the grants table and the four
    /// views a granted login role reads (see SqlAccess/SqlAccess.cs and the README section "SQL read access").
    ///
    /// KEEP IN STEP: the views name columns of customers, change_requests, consent_entries, channel_entries,
    /// propagations, source_systems and ledger_entries. A later migration that renames or drops one of those columns must drop and
    /// recreate the views that use it (PostgreSQL refuses to drop a column a view depends on, and silently keeps a
    /// renamed one under the view's own column name). Add such columns nowhere else: a view shows only what is listed
    /// here, so a new column of personal data never leaks by itself.
    ///
    /// Why security_barrier views and not security_invoker views with row-level security policies: a security_invoker
    /// view would need the reader to hold SELECT on the base tables themselves, and so read them directly, policy or
    /// not on every one (personal_data, the ledger, clusters … and every table added later). A plain view reads the
    /// tables with its owner's (the hub's) rights, so a reader holds SELECT on the four views and nothing else; each view
    /// filters on the organisation granted to session_user (which SET ROLE cannot change), and security_barrier keeps
    /// the planner from running a reader's own function or operator on rows before that filter, so nothing of another
    /// organisation's rows can leak through an error or a notice. The row filter is the row-level security.
    ///
    /// No model change: the grants table is reached with SQL by SqlAccess, never through EF Core, so the model
    /// snapshot (and the SQLite migrations) stay as they are.
    /// </summary>
    public partial class SqlReadAccess : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE SCHEMA consent_read;
                REVOKE ALL ON SCHEMA consent_read FROM PUBLIC;

                -- Which login role reads which organisation. Only the hub's role (the owner) reads it; the views do, as their owner.
                CREATE TABLE consent_read.grants (
                    role_name  name PRIMARY KEY,
                    nmsc       character varying(64) NOT NULL,
                    granted_at timestamp with time zone NOT NULL,
                    granted_by character varying(200) NOT NULL,
                    rotated_at timestamp with time zone
                );
                CREATE INDEX ix_grants_nmsc ON consent_read.grants (nmsc);
                REVOKE ALL ON consent_read.grants FROM PUBLIC;

                CREATE VIEW consent_read.current_consents WITH (security_barrier) AS
                SELECT c."Nmsc" AS nmsc, c."Context" AS context, c."SourceSystem" AS source_system, c."SourceCustomerId" AS source_customer_id,
                       c."Id" AS record_id, e."Code" AS code, e."Flag" AS flag, e."RequestedAt" AS requested_at, e."ValidatedAt" AS validated_at,
                       e."ValidationReference" AS validation_reference, e."OriginSourceSystem" AS origin_source_system,
                       e."ChangeRequestId" AS change_request_id, r."OutcomeLedgerIndex" AS ledger_index, e."Sequence" AS sequence
                FROM consent_entries e
                JOIN customers c ON c."Id" = e."CustomerId"
                LEFT JOIN change_requests r ON r."Id" = e."ChangeRequestId"
                WHERE c."Nmsc" = (SELECT g.nmsc FROM consent_read.grants g WHERE g.role_name = session_user);

                CREATE VIEW consent_read.current_channels WITH (security_barrier) AS
                SELECT c."Nmsc" AS nmsc, c."Context" AS context, c."SourceSystem" AS source_system, c."SourceCustomerId" AS source_customer_id,
                       c."Id" AS record_id, e."Code" AS code, e."Flag" AS flag, e."RequestedAt" AS requested_at,
                       e."OriginSourceSystem" AS origin_source_system, e."ChangeRequestId" AS change_request_id,
                       r."OutcomeLedgerIndex" AS ledger_index, e."Sequence" AS sequence
                FROM channel_entries e
                JOIN customers c ON c."Id" = e."CustomerId"
                LEFT JOIN change_requests r ON r."Id" = e."ChangeRequestId"
                WHERE c."Nmsc" = (SELECT g.nmsc FROM consent_read.grants g WHERE g.role_name = session_user);

                -- Every applied change of a flag: the "change-applied" ledger entry of each applied request, one row per
                -- consent or channel it set. Walked from the organisation's records (indexed) to their requests to the entry.
                CREATE VIEW consent_read.consent_history WITH (security_barrier) AS
                SELECT l."Index" AS ledger_index, l."Timestamp" AS applied_at, c."Nmsc" AS nmsc, c."Context" AS context,
                       c."SourceSystem" AS source_system, c."SourceCustomerId" AS source_customer_id, c."Id" AS record_id,
                       v.kind, v.code, v.flag, r."Id" AS change_request_id
                FROM customers c
                JOIN change_requests r ON r."CustomerId" = c."Id" AND r."OutcomeLedgerIndex" IS NOT NULL
                JOIN ledger_entries l ON l."Index" = r."OutcomeLedgerIndex" AND l."Type" = 'change-applied'
                CROSS JOIN LATERAL (
                    SELECT 'consent'::text AS kind, x ->> 'code' AS code, (x ->> 'flag')::boolean AS flag
                    FROM jsonb_array_elements(l."Payload"::jsonb -> 'consents') x
                    UNION ALL
                    SELECT 'channel'::text, x ->> 'code', (x ->> 'flag')::boolean
                    FROM jsonb_array_elements(l."Payload"::jsonb -> 'channels') x
                ) v
                WHERE c."Nmsc" = (SELECT g.nmsc FROM consent_read.grants g WHERE g.role_name = session_user);

                -- Per PROPAGATED message: never its payload (it carries the person's email) nor the destination's answer.
                -- Reached through the organisation's source systems, whose messages are indexed by system.
                CREATE VIEW consent_read.propagation_status WITH (security_barrier) AS
                SELECT p."Id" AS propagation_id, p."Nmsc" AS nmsc, p."Context" AS context, p."SourceSystem" AS destination_system,
                       p."SourceCustomerId" AS source_customer_id, p."Cause" AS cause, p."ChangeRequestId" AS change_request_id,
                       p."State" AS state, p."Attempts" AS attempts, p."CreatedAt" AS created_at, p."LastAttemptAt" AS last_attempt_at,
                       p."LastStatusCode" AS last_status_code, p."DeliveredAt" AS delivered_at, p."ProcessedAt" AS acknowledged_at,
                       p."LedgerIndex" AS ledger_index
                FROM source_systems s
                JOIN propagations p ON p."SourceSystemId" = s."Id"
                WHERE s."Nmsc" = (SELECT g.nmsc FROM consent_read.grants g WHERE g.role_name = session_user);

                REVOKE ALL ON consent_read.current_consents, consent_read.current_channels, consent_read.consent_history,
                    consent_read.propagation_status FROM PUBLIC;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // The login roles belong to the cluster, not to the schema: dropping it takes their privileges on the views
            // with it, but the roles keep CONNECT until revoked (consenthub sql-access revoke, before migrating down).
            migrationBuilder.Sql("DROP SCHEMA consent_read CASCADE;");
        }
    }
}
