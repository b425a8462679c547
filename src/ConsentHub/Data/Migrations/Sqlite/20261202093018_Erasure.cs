using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Erasure : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "erased_records",
                columns: table => new
                {
                    ErasureId = table.Column<Guid>(type: "TEXT", nullable: false),
                    CustomerId = table.Column<long>(type: "INTEGER", nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_erased_records", x => new { x.ErasureId, x.CustomerId });
                });

            migrationBuilder.CreateTable(
                name: "erasures",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Criterion = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    CriterionKey = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    RequestedBy = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    RequestedByRole = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ErasedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_erasures", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_erased_records_CustomerId",
                table: "erased_records",
                column: "CustomerId");

            migrationBuilder.CreateIndex(
                name: "IX_erasures_Nmsc_Criterion_CriterionKey",
                table: "erasures",
                columns: new[] { "Nmsc", "Criterion", "CriterionKey" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "erased_records");

            migrationBuilder.DropTable(
                name: "erasures");
        }
    }
}
