using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class BuiltInMatching : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "BuiltInMatching",
                table: "organisations",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "EmailKey",
                table: "customers",
                type: "character varying(254)",
                maxLength: 254,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_customers_Nmsc_EmailKey",
                table: "customers",
                columns: new[] { "Nmsc", "EmailKey" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_customers_Nmsc_EmailKey",
                table: "customers");

            migrationBuilder.DropColumn(
                name: "BuiltInMatching",
                table: "organisations");

            migrationBuilder.DropColumn(
                name: "EmailKey",
                table: "customers");
        }
    }
}
