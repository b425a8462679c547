using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
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
                    FileId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Sequence = table.Column<int>(type: "INTEGER", nullable: false),
                    Bytes = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_file_chunks", x => new { x.FileId, x.Sequence });
                });

            migrationBuilder.CreateTable(
                name: "suppression_file_settings",
                columns: table => new
                {
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Frequency = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Formats = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Hashed = table.Column<bool>(type: "INTEGER", nullable: false),
                    Industry = table.Column<bool>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_file_settings", x => x.Nmsc);
                });

            migrationBuilder.CreateTable(
                name: "suppression_files",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Slot = table.Column<string>(type: "TEXT", maxLength: 80, nullable: false),
                    Frequency = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    PeriodStart = table.Column<DateTime>(type: "TEXT", nullable: false),
                    PeriodEnd = table.Column<DateTime>(type: "TEXT", nullable: false),
                    CutOff = table.Column<DateTime>(type: "TEXT", nullable: false),
                    DeltaFrom = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Format = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Hashed = table.Column<bool>(type: "INTEGER", nullable: false),
                    Industry = table.Column<bool>(type: "INTEGER", nullable: false),
                    Lines = table.Column<int>(type: "INTEGER", nullable: false),
                    Size = table.Column<long>(type: "INTEGER", nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ClaimedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: true)
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
