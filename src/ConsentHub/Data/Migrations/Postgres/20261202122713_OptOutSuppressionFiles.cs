using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OptOutSuppressionFiles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "suppression_file_chunks",
                columns: table => new
                {
                    FileId = table.Column<Guid>(type: "uuid", nullable: false),
                    Sequence = table.Column<int>(type: "integer", nullable: false),
                    Bytes = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_file_chunks", x => new { x.FileId, x.Sequence });
                });

            migrationBuilder.CreateTable(
                name: "suppression_file_settings",
                columns: table => new
                {
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Frequency = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Formats = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Hashed = table.Column<bool>(type: "boolean", nullable: false),
                    Industry = table.Column<bool>(type: "boolean", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_file_settings", x => x.Nmsc);
                });

            migrationBuilder.CreateTable(
                name: "suppression_files",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Slot = table.Column<string>(type: "character varying(80)", maxLength: 80, nullable: false),
                    Frequency = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    PeriodStart = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    PeriodEnd = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    CutOff = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    DeltaFrom = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Kind = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    Format = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    Hashed = table.Column<bool>(type: "boolean", nullable: false),
                    Industry = table.Column<bool>(type: "boolean", nullable: false),
                    Lines = table.Column<int>(type: "integer", nullable: false),
                    Size = table.Column<long>(type: "bigint", nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ClaimedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "uuid", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_files", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_files_Nmsc_LedgerIndex",
                table: "suppression_files",
                columns: new[] { "Nmsc", "LedgerIndex" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_files_Nmsc_Slot_Kind_Format",
                table: "suppression_files",
                columns: new[] { "Nmsc", "Slot", "Kind", "Format" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "suppression_file_chunks");

            migrationBuilder.DropTable(
                name: "suppression_file_settings");

            migrationBuilder.DropTable(
                name: "suppression_files");
        }
    }
}
