using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
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
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "RequestedAt",
                table: "propagated_values",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "cluster_membership_history",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    ClusterId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    At = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
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
                name: "IX_cluster_membership_history_Nmsc_Context_SourceSystem_Source~",
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
