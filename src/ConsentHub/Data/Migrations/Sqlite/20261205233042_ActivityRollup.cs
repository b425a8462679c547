using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ActivityRollup : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "activity_hours",
                columns: table => new
                {
                    Kind = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Hour = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Count = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_activity_hours", x => new { x.Kind, x.Nmsc, x.Context, x.Hour });
                });

            migrationBuilder.CreateTable(
                name: "activity_marks",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_activity_marks", x => x.Id);
                });

            migrationBuilder.InsertData(
                table: "activity_marks",
                columns: new[] { "Id", "LedgerIndex" },
                values: new object[] { 1, 0L });

            migrationBuilder.CreateIndex(
                name: "IX_activity_hours_Kind_Hour",
                table: "activity_hours",
                columns: new[] { "Kind", "Hour" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "activity_hours");

            migrationBuilder.DropTable(
                name: "activity_marks");
        }
    }
}
