using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Validation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "ValidationWindowHours",
                table: "organisations",
                type: "integer",
                nullable: false,
                defaultValue: 24);

            migrationBuilder.AddColumn<string>(
                name: "AccentColour",
                table: "contexts",
                type: "character varying(7)",
                maxLength: 7,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LogoUrl",
                table: "contexts",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PrimaryColour",
                table: "contexts",
                type: "character varying(7)",
                maxLength: 7,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SenderName",
                table: "contexts",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StatusReason",
                table: "change_requests",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "DataProtectionKeys",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    FriendlyName = table.Column<string>(type: "text", nullable: true),
                    Xml = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DataProtectionKeys", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "context_texts",
                columns: table => new
                {
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Language = table.Column<string>(type: "character varying(35)", maxLength: 35, nullable: false),
                    Overrides = table.Column<string>(type: "text", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_context_texts", x => new { x.Context, x.Language });
                });

            migrationBuilder.CreateTable(
                name: "validation_tokens",
                columns: table => new
                {
                    Hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ValidationId = table.Column<Guid>(type: "uuid", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_validation_tokens", x => x.Hash);
                });

            migrationBuilder.CreateTable(
                name: "validations",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    ChangeRequestId = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Email = table.Column<string>(type: "character varying(254)", maxLength: 254, nullable: false),
                    Language = table.Column<string>(type: "character varying(35)", maxLength: 35, nullable: true),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    DueAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    WindowEndsAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    LastError = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    MessageId = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: true),
                    SentAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    SentLedgerIndex = table.Column<long>(type: "bigint", nullable: true),
                    ReminderSentAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    ReminderLedgerIndex = table.Column<long>(type: "bigint", nullable: true),
                    EndedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    EndLedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_validations", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_validation_tokens_ValidationId",
                table: "validation_tokens",
                column: "ValidationId");

            migrationBuilder.CreateIndex(
                name: "IX_validations_ChangeRequestId",
                table: "validations",
                column: "ChangeRequestId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_validations_State_DueAt",
                table: "validations",
                columns: new[] { "State", "DueAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DataProtectionKeys");

            migrationBuilder.DropTable(
                name: "context_texts");

            migrationBuilder.DropTable(
                name: "validation_tokens");

            migrationBuilder.DropTable(
                name: "validations");

            migrationBuilder.DropColumn(
                name: "ValidationWindowHours",
                table: "organisations");

            migrationBuilder.DropColumn(
                name: "AccentColour",
                table: "contexts");

            migrationBuilder.DropColumn(
                name: "LogoUrl",
                table: "contexts");

            migrationBuilder.DropColumn(
                name: "PrimaryColour",
                table: "contexts");

            migrationBuilder.DropColumn(
                name: "SenderName",
                table: "contexts");

            migrationBuilder.DropColumn(
                name: "StatusReason",
                table: "change_requests");
        }
    }
}
