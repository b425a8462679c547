using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Extracts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "extract_chunks",
                columns: table => new
                {
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    Sequence = table.Column<int>(type: "integer", nullable: false),
                    Bytes = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_extract_chunks", x => new { x.RunId, x.Sequence });
                });

            // The hub compresses a file's chunks itself (zlib, fastest level). TOAST's own pglz, over raw chunks, made storing a
            // CSV extract the slowest part of its run; chunks are kept out of line as they come.
            migrationBuilder.Sql("ALTER TABLE extract_chunks ALTER COLUMN \"Bytes\" SET STORAGE EXTERNAL;");

            migrationBuilder.CreateTable(
                name: "extract_definitions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Spec = table.Column<string>(type: "text", nullable: false),
                    Schedule = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    NextRunAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_extract_definitions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "extract_runs",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    DefinitionId = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Slot = table.Column<string>(type: "character varying(80)", maxLength: 80, nullable: false),
                    Trigger = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Spec = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Rows = table.Column<long>(type: "bigint", nullable: false),
                    Bytes = table.Column<long>(type: "bigint", nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Error = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    RequestedBy = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    RequestedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    CompletedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "uuid", nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    LedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_extract_runs", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_extract_definitions_NextRunAt",
                table: "extract_definitions",
                column: "NextRunAt");

            migrationBuilder.CreateIndex(
                name: "IX_extract_definitions_Nmsc_Name",
                table: "extract_definitions",
                columns: new[] { "Nmsc", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_extract_runs_DefinitionId_Slot",
                table: "extract_runs",
                columns: new[] { "DefinitionId", "Slot" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_extract_runs_Nmsc_Name_RequestedAt",
                table: "extract_runs",
                columns: new[] { "Nmsc", "Name", "RequestedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_extract_runs_State_LeaseUntil",
                table: "extract_runs",
                columns: new[] { "State", "LeaseUntil" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "extract_chunks");

            migrationBuilder.DropTable(
                name: "extract_definitions");

            migrationBuilder.DropTable(
                name: "extract_runs");
        }
    }
}
