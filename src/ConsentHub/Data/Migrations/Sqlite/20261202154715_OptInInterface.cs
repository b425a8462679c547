using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class OptInInterface : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Reference",
                table: "validations",
                type: "TEXT",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "OptInConfirmation",
                table: "organisations",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "partner");

            migrationBuilder.CreateTable(
                name: "opt_in_flows",
                columns: table => new
                {
                    ExtRefNo = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    CustomerId = table.Column<long>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Confirmation = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    Items = table.Column<string>(type: "TEXT", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "TEXT", nullable: false),
                    ValidationId = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_in_flows", x => x.ExtRefNo);
                });

            migrationBuilder.CreateTable(
                name: "opt_in_types",
                columns: table => new
                {
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Type = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Category = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_in_types", x => new { x.Nmsc, x.Type });
                });

            migrationBuilder.CreateIndex(
                name: "IX_opt_in_flows_ChangeRequestId",
                table: "opt_in_flows",
                column: "ChangeRequestId");

            migrationBuilder.CreateIndex(
                name: "IX_opt_in_flows_CustomerId",
                table: "opt_in_flows",
                column: "CustomerId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "opt_in_flows");

            migrationBuilder.DropTable(
                name: "opt_in_types");

            migrationBuilder.DropColumn(
                name: "Reference",
                table: "validations");

            migrationBuilder.DropColumn(
                name: "OptInConfirmation",
                table: "organisations");
        }
    }
}
