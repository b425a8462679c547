using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
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
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "event_types",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Mapping = table.Column<string>(type: "TEXT", nullable: false),
                    IdPointer = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_types", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "inbound_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    EventTypeId = table.Column<Guid>(type: "TEXT", nullable: false),
                    DedupKey = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ByEventId = table.Column<bool>(type: "INTEGER", nullable: false),
                    Via = table.Column<string>(type: "TEXT", maxLength: 80, nullable: false),
                    ReceivedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "TEXT", nullable: false),
                    CustomerId = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_inbound_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "poller_runs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    PollerId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Trigger = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    WindowStart = table.Column<DateTime>(type: "TEXT", nullable: false),
                    WindowEnd = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Pages = table.Column<int>(type: "INTEGER", nullable: false),
                    Items = table.Column<int>(type: "INTEGER", nullable: false),
                    Applied = table.Column<int>(type: "INTEGER", nullable: false),
                    Rejected = table.Column<int>(type: "INTEGER", nullable: false),
                    Duplicates = table.Column<int>(type: "INTEGER", nullable: false),
                    Succeeded = table.Column<bool>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    DurationMs = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_poller_runs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "pollers",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    EventTypeId = table.Column<Guid>(type: "TEXT", nullable: false),
                    EventType = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Url = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    ProtectedToken = table.Column<string>(type: "TEXT", nullable: false),
                    TokenIn = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    TokenName = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Interval = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    WindowStart = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    WindowEnd = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    TimeFormat = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    ItemsPointer = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    NextPointer = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    SafetyLagSeconds = table.Column<int>(type: "INTEGER", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Watermark = table.Column<DateTime>(type: "TEXT", nullable: false),
                    NextRunAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
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
