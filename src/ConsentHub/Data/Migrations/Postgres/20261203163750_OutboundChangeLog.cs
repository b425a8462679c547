using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OutboundChangeLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "cdc_subscriptions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Contexts = table.Column<string>(type: "text", nullable: true),
                    Fields = table.Column<string>(type: "text", nullable: false),
                    Exchange = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    IncludePersonalData = table.Column<bool>(type: "boolean", nullable: false),
                    CursorIndex = table.Column<long>(type: "bigint", nullable: false),
                    CursorPosition = table.Column<int>(type: "integer", nullable: false),
                    PublishedCount = table.Column<long>(type: "bigint", nullable: false),
                    LastPublishedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastError = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    LastErrorAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseOwner = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cdc_subscriptions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "change_log",
                columns: table => new
                {
                    LedgerIndex = table.Column<long>(type: "bigint", nullable: false),
                    Position = table.Column<int>(type: "integer", nullable: false),
                    Kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    SourceCustomerId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    CustomerId = table.Column<long>(type: "bigint", nullable: true),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: true),
                    LeafHash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    OccurredAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Before = table.Column<string>(type: "text", nullable: true),
                    After = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_change_log", x => new { x.LedgerIndex, x.Position });
                });

            migrationBuilder.CreateTable(
                name: "replicas",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ConnectionString = table.Column<string>(type: "text", nullable: false),
                    Schema = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    Table = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    AppliedIndex = table.Column<long>(type: "bigint", nullable: false),
                    AppliedPosition = table.Column<int>(type: "integer", nullable: false),
                    RowsApplied = table.Column<long>(type: "bigint", nullable: false),
                    LastAppliedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastError = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    LastErrorAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseOwner = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_replicas", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_cdc_subscriptions_Nmsc_Name",
                table: "cdc_subscriptions",
                columns: new[] { "Nmsc", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_change_log_Nmsc_LedgerIndex",
                table: "change_log",
                columns: new[] { "Nmsc", "LedgerIndex" });

            migrationBuilder.CreateIndex(
                name: "IX_replicas_Nmsc_Name",
                table: "replicas",
                columns: new[] { "Nmsc", "Name" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "cdc_subscriptions");

            migrationBuilder.DropTable(
                name: "change_log");

            migrationBuilder.DropTable(
                name: "replicas");
        }
    }
}
