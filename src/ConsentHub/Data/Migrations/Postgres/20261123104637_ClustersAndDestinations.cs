using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ClustersAndDestinations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "cluster_feeds",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ClientId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cluster_feeds", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "cluster_members",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ClusterId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cluster_members", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "destinations",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    Uri = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    Version = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    ProtectedApiKey = table.Column<string>(type: "text", nullable: false),
                    ProtectedSigningSecret = table.Column<string>(type: "text", nullable: false),
                    ProtectedPreviousSigningSecret = table.Column<string>(type: "text", nullable: true),
                    PreviousSecretUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Enabled = table.Column<bool>(type: "boolean", nullable: false),
                    DisabledReason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_destinations", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_cluster_feeds_ClientId",
                table: "cluster_feeds",
                column: "ClientId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_cluster_feeds_Nmsc_Name",
                table: "cluster_feeds",
                columns: new[] { "Nmsc", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_cluster_members_Nmsc_ClusterId",
                table: "cluster_members",
                columns: new[] { "Nmsc", "ClusterId" });

            migrationBuilder.CreateIndex(
                name: "IX_cluster_members_Nmsc_Context_SourceSystem_SourceCustomerId",
                table: "cluster_members",
                columns: new[] { "Nmsc", "Context", "SourceSystem", "SourceCustomerId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_destinations_SourceSystemId",
                table: "destinations",
                column: "SourceSystemId",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "cluster_feeds");

            migrationBuilder.DropTable(
                name: "cluster_members");

            migrationBuilder.DropTable(
                name: "destinations");
        }
    }
}
