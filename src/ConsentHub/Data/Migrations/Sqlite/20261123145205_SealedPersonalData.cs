using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class SealedPersonalData : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "ChangeRequestId",
                table: "idempotency_records",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "personal_data",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    CustomerId = table.Column<long>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Reference = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Sealed = table.Column<byte[]>(type: "BLOB", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_personal_data", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_personal_data_CustomerId",
                table: "personal_data",
                column: "CustomerId");

            migrationBuilder.CreateIndex(
                name: "IX_personal_data_Kind_Reference",
                table: "personal_data",
                columns: new[] { "Kind", "Reference" },
                unique: true);

            // validations.Email and idempotency_records.ResponseBody become nullable. SQLite changes a column's nullability
            // only by rebuilding its table, which EF Core would do between "PRAGMA foreign_keys" statements that cannot
            // run in the migration's transaction (and warns so at every first start). No foreign key refers to these
            // two tables, so they are rebuilt here, inside the transaction, into the schema EF Core's rebuild gives.
            migrationBuilder.Sql("""
                CREATE TABLE "ef_temp_validations" (
                    "Id" TEXT NOT NULL CONSTRAINT "PK_validations" PRIMARY KEY,
                    "Attempts" INTEGER NOT NULL,
                    "ChangeRequestId" TEXT NOT NULL,
                    "Context" TEXT NOT NULL,
                    "CreatedAt" TEXT NOT NULL,
                    "DueAt" TEXT NOT NULL,
                    "Email" TEXT NULL,
                    "EndLedgerIndex" INTEGER NULL,
                    "EndedAt" TEXT NULL,
                    "Language" TEXT NULL,
                    "LastError" TEXT NULL,
                    "LeaseUntil" TEXT NULL,
                    "MessageId" TEXT NULL,
                    "Nmsc" TEXT NOT NULL,
                    "ReminderLedgerIndex" INTEGER NULL,
                    "ReminderSentAt" TEXT NULL,
                    "SentAt" TEXT NULL,
                    "SentLedgerIndex" INTEGER NULL,
                    "State" TEXT NOT NULL,
                    "WindowEndsAt" TEXT NULL
                );
                """);
            migrationBuilder.Sql("""
                INSERT INTO "ef_temp_validations" ("Id", "Attempts", "ChangeRequestId", "Context", "CreatedAt", "DueAt", "Email", "EndLedgerIndex", "EndedAt", "Language", "LastError", "LeaseUntil", "MessageId", "Nmsc", "ReminderLedgerIndex", "ReminderSentAt", "SentAt", "SentLedgerIndex", "State", "WindowEndsAt")
                SELECT "Id", "Attempts", "ChangeRequestId", "Context", "CreatedAt", "DueAt", "Email", "EndLedgerIndex", "EndedAt", "Language", "LastError", "LeaseUntil", "MessageId", "Nmsc", "ReminderLedgerIndex", "ReminderSentAt", "SentAt", "SentLedgerIndex", "State", "WindowEndsAt"
                FROM "validations";
                """);
            migrationBuilder.Sql("""
                CREATE TABLE "ef_temp_idempotency_records" (
                    "Scope" TEXT NOT NULL,
                    "Key" TEXT NOT NULL,
                    "ChangeRequestId" TEXT NULL,
                    "CreatedAt" TEXT NOT NULL,
                    "Location" TEXT NULL,
                    "RequestHash" TEXT NOT NULL,
                    "ResponseBody" TEXT NULL,
                    "StatusCode" INTEGER NOT NULL,
                    CONSTRAINT "PK_idempotency_records" PRIMARY KEY ("Scope", "Key")
                );
                """);
            migrationBuilder.Sql("""
                INSERT INTO "ef_temp_idempotency_records" ("Scope", "Key", "ChangeRequestId", "CreatedAt", "Location", "RequestHash", "ResponseBody", "StatusCode")
                SELECT "Scope", "Key", "ChangeRequestId", "CreatedAt", "Location", "RequestHash", "ResponseBody", "StatusCode"
                FROM "idempotency_records";
                """);
            migrationBuilder.Sql("""DROP TABLE "validations";""");
            migrationBuilder.Sql("""ALTER TABLE "ef_temp_validations" RENAME TO "validations";""");
            migrationBuilder.Sql("""DROP TABLE "idempotency_records";""");
            migrationBuilder.Sql("""ALTER TABLE "ef_temp_idempotency_records" RENAME TO "idempotency_records";""");
            migrationBuilder.Sql("""CREATE UNIQUE INDEX "IX_validations_ChangeRequestId" ON "validations" ("ChangeRequestId");""");
            migrationBuilder.Sql("""CREATE INDEX "IX_validations_State_DueAt" ON "validations" ("State", "DueAt");""");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "personal_data");

            migrationBuilder.DropColumn(
                name: "ChangeRequestId",
                table: "idempotency_records");

            migrationBuilder.AlterColumn<string>(
                name: "Email",
                table: "validations",
                type: "TEXT",
                maxLength: 254,
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldMaxLength: 254,
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "ResponseBody",
                table: "idempotency_records",
                type: "TEXT",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldNullable: true);
        }
    }
}
