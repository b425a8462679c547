using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
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
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "OptInConfirmation",
                table: "organisations",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "partner");

            migrationBuilder.CreateTable(
                name: "opt_in_flows",
                columns: table => new
                {
                    ExtRefNo = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    CustomerId = table.Column<long>(type: "bigint", nullable: false),
                    Kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Confirmation = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    Items = table.Column<string>(type: "text", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: false),
                    ValidationId = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_in_flows", x => x.ExtRefNo);
                });

            migrationBuilder.CreateTable(
                name: "opt_in_types",
                columns: table => new
                {
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Category = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
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
