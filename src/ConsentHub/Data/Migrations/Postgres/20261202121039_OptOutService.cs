using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ConsentHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OptOutService : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "DefaultCountry",
                table: "organisations",
                type: "character varying(2)",
                maxLength: 2,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    SourceSystemId = table.Column<long>(type: "bigint", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Label = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    KeyHash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LastUsedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    RevokedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "data_sharing_agreements",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    AgreementReference = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    SignedOn = table.Column<DateOnly>(type: "date", nullable: false),
                    JoinedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    LeftAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    JoinedLedgerIndex = table.Column<long>(type: "bigint", nullable: false),
                    LeftLedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_data_sharing_agreements", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "industry_opt_outs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Provider = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    AddedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_industry_opt_outs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "opt_out_records",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    TransactionId = table.Column<Guid>(type: "uuid", nullable: false),
                    Position = table.Column<int>(type: "integer", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Successful = table.Column<bool>(type: "boolean", nullable: false),
                    UnsuccessfulReason = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: true),
                    Validation = table.Column<string>(type: "character varying(1)", maxLength: 1, nullable: true),
                    ProjectId = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: true),
                    Sealed = table.Column<byte[]>(type: "bytea", nullable: true),
                    ProtectedKey = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    ReceivedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    AppliedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    MatchedRecords = table.Column<int>(type: "integer", nullable: false),
                    ChangesApplied = table.Column<int>(type: "integer", nullable: false),
                    LedgerIndex = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_out_records", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "opt_out_transactions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ApiKeyId = table.Column<Guid>(type: "uuid", nullable: false),
                    ReceivedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ClientIp = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    Referer = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    Successful = table.Column<int>(type: "integer", nullable: false),
                    Unsuccessful = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_out_transactions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "suppression_entries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Nmsc = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    OptOutId = table.Column<Guid>(type: "uuid", nullable: false),
                    Kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    BlindKey = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    SealedValue = table.Column<byte[]>(type: "bytea", nullable: true),
                    Source = table.Column<string>(type: "character varying(130)", maxLength: 130, nullable: false),
                    OptedOutAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    SupersededAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_suppression_entries", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_KeyHash",
                table: "api_keys",
                column: "KeyHash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_SourceSystemId",
                table: "api_keys",
                column: "SourceSystemId");

            migrationBuilder.CreateIndex(
                name: "IX_data_sharing_agreements_Nmsc_LeftAt",
                table: "data_sharing_agreements",
                columns: new[] { "Nmsc", "LeftAt" });

            migrationBuilder.CreateIndex(
                name: "IX_industry_opt_outs_Kind_Sha256",
                table: "industry_opt_outs",
                columns: new[] { "Kind", "Sha256" });

            migrationBuilder.CreateIndex(
                name: "IX_industry_opt_outs_Provider_Kind_Sha256",
                table: "industry_opt_outs",
                columns: new[] { "Provider", "Kind", "Sha256" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_opt_out_records_AppliedAt",
                table: "opt_out_records",
                column: "AppliedAt");

            migrationBuilder.CreateIndex(
                name: "IX_opt_out_records_Nmsc_Id",
                table: "opt_out_records",
                columns: new[] { "Nmsc", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_opt_out_records_TransactionId_Position",
                table: "opt_out_records",
                columns: new[] { "TransactionId", "Position" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_opt_out_transactions_Nmsc_ReceivedAt",
                table: "opt_out_transactions",
                columns: new[] { "Nmsc", "ReceivedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_entries_Kind_Sha256",
                table: "suppression_entries",
                columns: new[] { "Kind", "Sha256" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_entries_Nmsc_BlindKey",
                table: "suppression_entries",
                columns: new[] { "Nmsc", "BlindKey" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_entries_Nmsc_Kind_Sha256",
                table: "suppression_entries",
                columns: new[] { "Nmsc", "Kind", "Sha256" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_entries_Nmsc_OptedOutAt",
                table: "suppression_entries",
                columns: new[] { "Nmsc", "OptedOutAt" });

            migrationBuilder.CreateIndex(
                name: "IX_suppression_entries_OptOutId",
                table: "suppression_entries",
                column: "OptOutId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "data_sharing_agreements");

            migrationBuilder.DropTable(
                name: "industry_opt_outs");

            migrationBuilder.DropTable(
                name: "opt_out_records");

            migrationBuilder.DropTable(
                name: "opt_out_transactions");

            migrationBuilder.DropTable(
                name: "suppression_entries");

            migrationBuilder.DropColumn(
                name: "DefaultCountry",
                table: "organisations");
        }
    }
}
