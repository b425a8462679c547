using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Propagation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "delivery_attempts",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    PropagationId = table.Column<Guid>(type: "uuid", nullable: false),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    Number = table.Column<int>(type: "integer", nullable: false),
                    AttemptedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    StatusCode = table.Column<int>(type: "integer", nullable: true),
                    LatencyMs = table.Column<int>(type: "integer", nullable: false),
                    Response = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    Error = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    Outcome = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_delivery_attempts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "propagated_values",
                columns: table => new
                {
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    SourceCustomerId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    Kind = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    Code = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Flag = table.Column<bool>(type: "boolean", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_propagated_values", x => new { x.SourceSystemId, x.SourceCustomerId, x.Kind, x.Code });
                });

            migrationBuilder.CreateTable(
                name: "propagations",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    LedgerIndex = table.Column<long>(type: "bigint", nullable: false),
                    Cause = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: true),
                    Payload = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    NextAttemptAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LastAttemptAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastStatusCode = table.Column<int>(type: "integer", nullable: true),
                    LastError = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    DeliveredAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    ProcessedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    ProcessedLedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_propagations", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_delivery_attempts_PropagationId",
                table: "delivery_attempts",
                column: "PropagationId");

            migrationBuilder.CreateIndex(
                name: "IX_delivery_attempts_SourceSystemId_Id",
                table: "delivery_attempts",
                columns: new[] { "SourceSystemId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_propagations_SourceSystemId_LastAttemptAt",
                table: "propagations",
                columns: new[] { "SourceSystemId", "LastAttemptAt" });

            migrationBuilder.CreateIndex(
                name: "IX_propagations_SourceSystemId_SourceCustomerId_LedgerIndex",
                table: "propagations",
                columns: new[] { "SourceSystemId", "SourceCustomerId", "LedgerIndex" });

            migrationBuilder.CreateIndex(
                name: "IX_propagations_due",
                table: "propagations",
                column: "NextAttemptAt",
                filter: "\"State\" IN ('PENDING', 'PARKED')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "delivery_attempts");

            migrationBuilder.DropTable(
                name: "propagated_values");

            migrationBuilder.DropTable(
                name: "propagations");
        }
    }
}
