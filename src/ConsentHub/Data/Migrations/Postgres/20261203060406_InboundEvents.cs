using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InboundEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "EventTypeId",
                table: "api_keys",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "event_types",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Mapping = table.Column<string>(type: "text", nullable: false),
                    IdPointer = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_types", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "inbound_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    EventTypeId = table.Column<Guid>(type: "uuid", nullable: false),
                    DedupKey = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ByEventId = table.Column<bool>(type: "boolean", nullable: false),
                    Via = table.Column<string>(type: "character varying(80)", maxLength: 80, nullable: false),
                    ReceivedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: false),
                    CustomerId = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_inbound_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "poller_runs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    PollerId = table.Column<Guid>(type: "uuid", nullable: false),
                    Trigger = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    StartedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    WindowStart = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    WindowEnd = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Pages = table.Column<int>(type: "integer", nullable: false),
                    Items = table.Column<int>(type: "integer", nullable: false),
                    Applied = table.Column<int>(type: "integer", nullable: false),
                    Rejected = table.Column<int>(type: "integer", nullable: false),
                    Duplicates = table.Column<int>(type: "integer", nullable: false),
                    Succeeded = table.Column<bool>(type: "boolean", nullable: false),
                    Error = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    DurationMs = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_poller_runs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "pollers",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    EventTypeId = table.Column<Guid>(type: "uuid", nullable: false),
                    EventType = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Url = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    ProtectedToken = table.Column<string>(type: "text", nullable: false),
                    TokenIn = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    TokenName = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Interval = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    WindowStart = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    WindowEnd = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    TimeFormat = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    ItemsPointer = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    NextPointer = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    SafetyLagSeconds = table.Column<int>(type: "integer", nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    FailureReason = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    Watermark = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    NextRunAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pollers", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_EventTypeId",
                table: "api_keys",
                column: "EventTypeId");

            migrationBuilder.CreateIndex(
                name: "IX_event_types_Nmsc_Name",
                table: "event_types",
                columns: new[] { "Nmsc", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_event_types_SourceSystemId",
                table: "event_types",
                column: "SourceSystemId");

            migrationBuilder.CreateIndex(
                name: "IX_inbound_events_CustomerId",
                table: "inbound_events",
                column: "CustomerId");

            migrationBuilder.CreateIndex(
                name: "IX_inbound_events_EventTypeId_DedupKey",
                table: "inbound_events",
                columns: new[] { "EventTypeId", "DedupKey" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_inbound_events_ReceivedAt",
                table: "inbound_events",
                column: "ReceivedAt");

            migrationBuilder.CreateIndex(
                name: "IX_poller_runs_PollerId_Id",
                table: "poller_runs",
                columns: new[] { "PollerId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_pollers_EventTypeId",
                table: "pollers",
                column: "EventTypeId");

            migrationBuilder.CreateIndex(
                name: "IX_pollers_NextRunAt",
                table: "pollers",
                column: "NextRunAt");

            migrationBuilder.CreateIndex(
                name: "IX_pollers_Nmsc_Name",
                table: "pollers",
                columns: new[] { "Nmsc", "Name" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_types");

            migrationBuilder.DropTable(
                name: "inbound_events");

            migrationBuilder.DropTable(
                name: "poller_runs");

            migrationBuilder.DropTable(
                name: "pollers");

            migrationBuilder.DropIndex(
                name: "IX_api_keys_EventTypeId",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "EventTypeId",
                table: "api_keys");
        }
    }
}
