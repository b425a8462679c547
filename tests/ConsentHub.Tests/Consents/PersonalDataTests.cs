using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub;
using Microsoft.EntityFrameworkCore;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// Personal data lives only in personal_data, sealed with the key of the record it belongs to: no other table holds
/// an address or phone in clear, matching compares blind indexes, and destroying a record's key erases what it sealed.
/// </summary>
public sealed class PersonalDataTests
{
    static readonly Dictionary<string, string?> NoWorkers = new()
    {
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
    };

    const string Email = "Jane.Doe@Example.com";
    const string Phone = "+44 7700 900123";
    /// <summary>What must not be found anywhere outside personal_data, lower-cased (the scan compares lower-cased text).</summary>
    static readonly string[] Traces = ["jane.doe@example.com", "7700 900123", "447700900123", "jane.doe"];

    static JsonObject Change(string code, string email, bool validated = true, string? phone = null)
    {
        var body = Seed.Consent(code, true, validated: validated);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        if (phone is not null) body["consent"]!["communicationAttributes"]!["phone"] = phone;
        return body;
    }

    /// <summary>
    /// The encryption key of a record is HKDF-Expand of its key, computed as the one HMAC block it is: what was sealed
    /// before under the platform's HKDF still opens.
    /// </summary>
    [Fact]
    public void The_encryption_key_is_the_HKDF_expansion_of_the_record_key()
    {
        var info = "ConsentHub personal data v1"u8.ToArray();
        for (var i = 0; i < 100; i++)
        {
            var recordKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            Assert.Equal(System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA256, recordKey, 32, info),
                PersonalDataVault.EncryptionKey(recordKey));
        }
    }

    [ProviderTheory, Providers]
    public async Task No_table_but_personal_data_holds_an_address_or_phone_in_clear(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/organisations/tgb", new { builtInMatching = true })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        var first = await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, phone: Phone), idempotencyKey: "key-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var firstBody = await first.Content.ReadAsStringAsync();
        var pending = await HubApp.SubmitAsync(asDms, dms, "d-1", Change("SURVEYS", "JANE.doe@example.com", validated: false));
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-2", Change("EVENTS", "jane.doe@EXAMPLE.com"))).StatusCode);

        // Every reader still gets the data back as it was sent.
        var replay = await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, phone: Phone), idempotencyKey: "key-1");
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal(firstBody, await replay.Content.ReadAsStringAsync());
        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(Email, current["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal(Phone, current["consent"]!["communicationAttributes"]!["phone"]!.GetValue<string>());
        var history = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-1") + "/history"));
        Assert.Equal("JANE.doe@example.com", history["changes"]![0]!["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        var status = await Json.ReadAsync(await asDms.GetAsync(pending.Headers.Location));
        Assert.Equal("JANE.doe@example.com", status["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        var past = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "?at=2100-01-01T00:00:00Z"));
        Assert.Equal(Email, past["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());

        // Matching still links the two validated records by the address, through its blind index.
        var cluster = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1").Replace("/subscription-data", "/cluster")));
        Assert.Equal(["c-1", "d-2"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());

        using var scope = app.Scope();
        var db = app.Db(scope);
        var keys = await db.Customers.AsNoTracking().OrderBy(c => c.SourceCustomerId).Select(c => new { c.SourceCustomerId, c.EmailKey, c.PhoneKey }).ToListAsync();
        Assert.Matches("^[0-9a-f]{64}$", keys[0].EmailKey!);
        Assert.Matches("^[0-9a-f]{64}$", keys[0].PhoneKey!);
        Assert.Equal(keys[0].EmailKey, keys.Single(k => k.SourceCustomerId == "d-2").EmailKey);

        Assert.Empty(await CellsContainingAsync(db, Traces));
        Assert.True(await db.PersonalData.CountAsync() >= 5); // three contacts, three requests and one answer, at least
    }

    [ProviderTheory, Providers]
    public async Task Destroying_a_records_key_erases_what_it_sealed_and_nothing_else(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, phone: Phone), idempotencyKey: "k")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-2", Change("OFFERS", "other@example.com"))).StatusCode);

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var id = await db.Customers.Where(c => c.SourceCustomerId == "c-1").Select(c => c.Id).SingleAsync();
            await db.PersonKeys.Where(k => k.CustomerId == id).ExecuteDeleteAsync();
        }

        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        var attributes = current["consent"]!["communicationAttributes"]!;
        Assert.Null(attributes["email"]);
        Assert.Null(attributes["phone"]);
        Assert.Equal("GB", attributes["country"]!.GetValue<string>());
        Assert.True(current["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());
        var history = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "/history"));
        Assert.Null(history["changes"]![0]!["data"]!["consent"]!["communicationAttributes"]!["email"]);
        var replay = await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, phone: Phone), idempotencyKey: "k");
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.DoesNotContain("example.com", await replay.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // The other record is untouched, and the ledger still verifies.
        var other = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-2")));
        Assert.Equal("other@example.com", other["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        using var admin = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task A_sealed_row_moved_to_another_record_does_not_open(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        await HubApp.AppliedAsync(asCrm, crm, "c-1", Change("OFFERS", Email));
        await HubApp.AppliedAsync(asCrm, crm, "c-2", Change("OFFERS", "other@example.com"));

        using var scope = app.Scope();
        var db = app.Db(scope);
        var ids = await db.Customers.OrderBy(c => c.SourceCustomerId).Select(c => c.Id).ToListAsync();
        var contacts = await db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact).OrderBy(p => p.CustomerId).ToListAsync();
        // c-2's ciphertext copied into c-1's row: the associated data (record, kind, reference) no longer matches.
        contacts[0].Sealed = contacts[1].Sealed;
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();
        var vault = scope.ServiceProvider.GetRequiredService<PersonalDataVault>();
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(() => vault.ContactsAsync([ids[0]], CancellationToken.None));
        Assert.Equal("other@example.com", (await vault.ContactAsync(ids[1], CancellationToken.None))!.Email);
    }

    [ProviderTheory, Providers]
    public async Task Data_an_older_version_kept_in_clear_is_sealed_on_start(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var admin = await app.AdminAsync())
            await admin.PutAsJsonAsync("/admin/organisations/tgb", new { builtInMatching = true });
        using var asCrm = await app.AsAsync(crm);
        var pending = await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, validated: false, phone: Phone), idempotencyKey: "k");
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        var answer = await pending.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("EVENTS", Email, phone: Phone))).StatusCode);

        // Put the database back the way version 0.4 wrote it: addresses in clear, no sealed rows.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var customer = await db.Customers.SingleAsync();
            var requests = await db.ChangeRequests.ToListAsync();
            var vault = scope.ServiceProvider.GetRequiredService<PersonalDataVault>();
            var sent = await vault.RequestDataAsync(requests, CancellationToken.None);
            foreach (var request in requests) request.Data = JsonSerializer.Serialize(sent[request.Id], SubscriptionChanges.StoredJson);
            customer.LegacyEmail = Email;
            customer.LegacyPhone = Phone;
            customer.EmailKey = "jane.doe@example.com";
            customer.PhoneKey = "+447700900123";
            foreach (var validation in await db.Validations.ToListAsync()) validation.LegacyEmail = Email;
            var record = await db.IdempotencyRecords.SingleAsync();
            record.ResponseBody = answer;
            record.ChangeRequestId = null;
            await db.SaveChangesAsync();
            await db.PersonalData.ExecuteDeleteAsync();
            Assert.NotEmpty(await CellsContainingAsync(db, Traces));
        }

        // What a restart does before serving (HubStartup) seals it all; a second run has nothing left to do.
        await app.Services.PrepareAsync();
        await app.Services.PrepareAsync();
        using (var scope = app.Scope()) Assert.Empty(await CellsContainingAsync(app.Db(scope), Traces));

        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(Email, current["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal(Phone, current["consent"]!["communicationAttributes"]!["phone"]!.GetValue<string>());
        var status = await Json.ReadAsync(await asCrm.GetAsync(pending.Headers.Location));
        Assert.Equal(Email, status["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        var replay = await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email, validated: false, phone: Phone), idempotencyKey: "k");
        Assert.Equal(answer, await replay.Content.ReadAsStringAsync());

        // The clear matching keys became blind indexes: a new record with the same phone still finds this one.
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using var asDms = await app.AsAsync(dms);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", Change("SURVEYS", "someone.else@example.com", phone: "07700 900123"))).StatusCode);
        var cluster = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-1").Replace("/subscription-data", "/cluster")));
        Assert.Equal(["c-1", "d-1"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
    }

    [ProviderTheory, Providers]
    public async Task Person_keys_are_wrapped_and_keys_written_under_data_protection_alone_still_open(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", Email))).StatusCode);

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var stored = await db.PersonKeys.SingleAsync();
            Assert.StartsWith("w1:", stored.ProtectedKey);
            var key = await scope.ServiceProvider.GetRequiredService<PersonKeys>().ForAsync(stored.CustomerId, CancellationToken.None);
            // As the previous version stored it: the key under Data Protection, without the wrapping key.
            var protector = scope.ServiceProvider.GetRequiredService<IDataProtectionProvider>()
                .CreateProtector("ConsentHub.PersonKeys.v1");
            stored.ProtectedKey = protector.Protect(Convert.ToBase64String(key));
            await db.SaveChangesAsync();
        }

        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(Email, current["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
    }

    /// <summary>Every table and column, other than personal_data, holding one of the texts (compared lower-cased).</summary>
    internal static async Task<List<string>> CellsContainingAsync(ConsentDb db, string[] texts)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await db.Database.OpenConnectionAsync();
        var columns = new List<(string Table, string Column, string Expression)>();
        if (db.Provider == DatabaseProvider.Postgres)
        {
            foreach (var row in await QueryAsync(connection, """
                SELECT table_name, column_name, data_type FROM information_schema.columns
                WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb')
                """))
                columns.Add((row[0], row[1], row[2] == "bytea" ? $"lower(encode(\"{row[1]}\", 'escape'))" : $"lower(\"{row[1]}\"::text)"));
        }
        else
        {
            foreach (var table in await QueryAsync(connection, "SELECT name FROM sqlite_master WHERE type = 'table'"))
                foreach (var column in await QueryAsync(connection, $"SELECT name FROM pragma_table_info('{table[0]}')"))
                    columns.Add((table[0], column[0], $"lower(CAST(\"{column[0]}\" AS TEXT))"));
        }
        var found = new List<string>();
        foreach (var (table, column, expression) in columns.Where(c => c.Table != "personal_data"))
        {
            foreach (var text in texts)
            {
                var hits = await QueryAsync(connection, $"SELECT count(*) FROM \"{table}\" WHERE {expression} LIKE '%{text}%'");
                if (hits[0][0] != "0") found.Add($"{table}.{column} holds '{text}'");
            }
        }
        return found;
    }

    static async Task<List<string[]>> QueryAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "")]);
        return rows;
    }
}
