using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PullFeed : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Position",
                table: "propagations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "RequestedAt",
                table: "propagated_values",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "cluster_membership_history",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    ClusterId = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    At = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cluster_membership_history", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_propagations_SourceSystemId_LedgerIndex_Position",
                table: "propagations",
                columns: new[] { "SourceSystemId", "LedgerIndex", "Position" });

            migrationBuilder.CreateIndex(
                name: "IX_cluster_membership_history_Nmsc_ClusterId_At",
                table: "cluster_membership_history",
                columns: new[] { "Nmsc", "ClusterId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_cluster_membership_history_Nmsc_Context_SourceSystem_SourceCustomerId_At",
                table: "cluster_membership_history",
                columns: new[] { "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "At" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "cluster_membership_history");

            migrationBuilder.DropIndex(
                name: "IX_propagations_SourceSystemId_LedgerIndex_Position",
                table: "propagations");

            migrationBuilder.DropColumn(
                name: "Position",
                table: "propagations");

            migrationBuilder.DropColumn(
                name: "RequestedAt",
                table: "propagated_values");
        }
    }
}
