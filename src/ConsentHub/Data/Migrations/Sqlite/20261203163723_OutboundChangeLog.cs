using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
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
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Contexts = table.Column<string>(type: "TEXT", nullable: true),
                    Fields = table.Column<string>(type: "TEXT", nullable: false),
                    Exchange = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    IncludePersonalData = table.Column<bool>(type: "INTEGER", nullable: false),
                    CursorIndex = table.Column<long>(type: "INTEGER", nullable: false),
                    CursorPosition = table.Column<int>(type: "INTEGER", nullable: false),
                    PublishedCount = table.Column<long>(type: "INTEGER", nullable: false),
                    LastPublishedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    LastErrorAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LeaseOwner = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cdc_subscriptions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "change_log",
                columns: table => new
                {
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    SourceCustomerId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    CustomerId = table.Column<long>(type: "INTEGER", nullable: true),
                    ChangeRequestId = table.Column<Guid>(type: "TEXT", nullable: true),
                    LeafHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    OccurredAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Before = table.Column<string>(type: "TEXT", nullable: true),
                    After = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_change_log", x => new { x.LedgerIndex, x.Position });
                });

            migrationBuilder.CreateTable(
                name: "replicas",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ConnectionString = table.Column<string>(type: "TEXT", nullable: false),
                    Schema = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    Table = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    AppliedIndex = table.Column<long>(type: "INTEGER", nullable: false),
                    AppliedPosition = table.Column<int>(type: "INTEGER", nullable: false),
                    RowsApplied = table.Column<long>(type: "INTEGER", nullable: false),
                    LastAppliedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    LastErrorAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LeaseOwner = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
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
