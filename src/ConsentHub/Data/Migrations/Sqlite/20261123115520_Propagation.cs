using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
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
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    PropagationId = table.Column<Guid>(type: "TEXT", nullable: false),
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    AttemptedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StatusCode = table.Column<int>(type: "INTEGER", nullable: true),
                    LatencyMs = table.Column<int>(type: "INTEGER", nullable: false),
                    Response = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    Error = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Outcome = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_delivery_attempts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "propagated_values",
                columns: table => new
                {
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    SourceCustomerId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Code = table.Column<string>(type: "TEXT", maxLength: 40, nullable: false),
                    Flag = table.Column<bool>(type: "INTEGER", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_propagated_values", x => new { x.SourceSystemId, x.SourceCustomerId, x.Kind, x.Code });
                });

            migrationBuilder.CreateTable(
                name: "propagations",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceCustomerId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: false),
                    Cause = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "TEXT", nullable: true),
                    Payload = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LeaseToken = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastAttemptAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastStatusCode = table.Column<int>(type: "INTEGER", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    DeliveredAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    ProcessedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    ProcessedLedgerIndex = table.Column<long>(type: "INTEGER", nullable: true)
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
