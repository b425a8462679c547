using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ConsentHub.Data.Migrations.Sqlite
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
                type: "TEXT",
                maxLength: 2,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    SourceSystemId = table.Column<long>(type: "INTEGER", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Label = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    KeyHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastUsedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    RevokedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "data_sharing_agreements",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    AgreementReference = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    SignedOn = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    JoinedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LeftAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    JoinedLedgerIndex = table.Column<long>(type: "INTEGER", nullable: false),
                    LeftLedgerIndex = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_data_sharing_agreements", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "industry_opt_outs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Provider = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    AddedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_industry_opt_outs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "opt_out_records",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    TransactionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Successful = table.Column<bool>(type: "INTEGER", nullable: false),
                    UnsuccessfulReason = table.Column<string>(type: "TEXT", maxLength: 300, nullable: true),
                    Validation = table.Column<string>(type: "TEXT", maxLength: 1, nullable: true),
                    ProjectId = table.Column<string>(type: "TEXT", maxLength: 20, nullable: true),
                    Sealed = table.Column<byte[]>(type: "BLOB", nullable: true),
                    ProtectedKey = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    ReceivedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    AppliedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    MatchedRecords = table.Column<int>(type: "INTEGER", nullable: false),
                    ChangesApplied = table.Column<int>(type: "INTEGER", nullable: false),
                    LedgerIndex = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_out_records", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "opt_out_transactions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceSystem = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ApiKeyId = table.Column<Guid>(type: "TEXT", nullable: false),
                    ReceivedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ClientIp = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    Referer = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: true),
                    Successful = table.Column<int>(type: "INTEGER", nullable: false),
                    Unsuccessful = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_opt_out_transactions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "suppression_entries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Nmsc = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    OptOutId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    BlindKey = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    SealedValue = table.Column<byte[]>(type: "BLOB", nullable: true),
                    Source = table.Column<string>(type: "TEXT", maxLength: 130, nullable: false),
                    OptedOutAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    SupersededAt = table.Column<DateTime>(type: "TEXT", nullable: true)
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
