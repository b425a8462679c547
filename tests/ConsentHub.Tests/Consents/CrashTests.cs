using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// A 2xx means the change is durable: its request, state, ledger entries and change log row committed together. A hub
/// process killed (SIGKILL) in the middle of a write load proves it: every change it acknowledged is there afterwards,
/// whole, in order, and the ledger still verifies.
/// </summary>
public sealed class CrashTests
{
    sealed record Ack(string Customer, Guid Id, long LedgerIndex, int Step, DateTime RequestedAt);

    [PostgresOnly]
    public async Task A_hub_killed_under_load_has_lost_no_change_it_acknowledged()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres);
        var system = await app.RegisterSourceSystemAsync(HubApp.Unique("crash"), "crash", "crm");
        var child = await ChildHub.StartAsync(app);
        var acks = new ConcurrentBag<Ack>();
        var failures = new ConcurrentBag<string>();
        var first = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        try
        {
            using var client = new HttpClient { BaseAddress = child.Address, Timeout = TimeSpan.FromSeconds(30) };
            using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
            };
            tokenRequest.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{system.ClientId}:{system.ClientSecret}")));
            var token = await client.SendAsync(tokenRequest);
            Assert.True(token.IsSuccessStatusCode, await token.Content.ReadAsStringAsync());
            client.DefaultRequestHeaders.Authorization = new("Bearer", (await token.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>());

            // Sixteen writers, each changing its own customer again and again: the kill lands while several are in flight.
            using var enough = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
            {
                var customer = $"k-{w}";
                for (var step = 0; !enough.IsCancellationRequested; step++)
                {
                    var requestedAt = first.AddSeconds(step);
                    HttpResponseMessage response;
                    try
                    {
                        response = await HubApp.SubmitAsync(client, system, customer, Seed.Consent("OFFERS", step % 2 == 0, requestedAt.ToString("O")));
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        return; // the process is gone: this request was never answered
                    }
                    if (response.StatusCode != HttpStatusCode.Created)
                    {
                        failures.Add($"{customer} step {step}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        return;
                    }
                    var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
                    acks.Add(new Ack(customer, Guid.Parse(body["id"]!.GetValue<string>()), body["ledgerIndex"]!.GetValue<long>(), step, requestedAt));
                }
            })).ToList();

            await Poll.UntilAsync(() => Task.FromResult(acks.Count), count => count >= 200 || !failures.IsEmpty || writers.All(t => t.IsCompleted),
                TimeSpan.FromSeconds(120));
            Assert.Empty(failures);
            child.Kill();
            await Task.WhenAll(writers);
            Assert.Empty(failures);
        }
        finally
        {
            await child.DisposeAsync();
        }
        Assert.True(acks.Count >= 200, $"only {acks.Count} changes were acknowledged before the kill");

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var ids = acks.Select(a => a.Id).ToList();
            var requests = await db.ChangeRequests.AsNoTracking().Where(c => ids.Contains(c.Id)).ToDictionaryAsync(c => c.Id);
            Assert.Equal(acks.Count, requests.Count);
            var indexes = new List<long>();
            foreach (var ack in acks)
            {
                var request = requests[ack.Id];
                Assert.Equal(ChangeStatus.Applied, request.Status);
                Assert.Equal(ack.LedgerIndex, request.Sequence);
                indexes.Add(request.Sequence);
                indexes.Add(Assert.IsType<long>(request.OutcomeLedgerIndex));
            }
            var entries = await db.LedgerEntries.AsNoTracking().Where(e => indexes.Contains(e.Index)).ToDictionaryAsync(e => e.Index);
            foreach (var ack in acks)
            {
                var request = requests[ack.Id];
                Assert.Equal(LedgerEvents.ChangeRequested, entries[request.Sequence].Type);
                Assert.Contains(ack.Id.ToString(), entries[request.Sequence].Payload, StringComparison.Ordinal);
                Assert.Equal(LedgerEvents.ChangeApplied, entries[request.OutcomeLedgerIndex!.Value].Type);
                Assert.Contains(ack.Id.ToString(), entries[request.OutcomeLedgerIndex.Value].Payload, StringComparison.Ordinal);
            }
            // The change log (the outbox CDC and replicas read) has the row of every acknowledged change.
            var applied = acks.Select(a => requests[a.Id].OutcomeLedgerIndex!.Value).ToList();
            Assert.Equal(acks.Count, await db.ChangeLog.CountAsync(e => applied.Contains(e.LedgerIndex)));
            // Each customer's state is at least as new as the last change it was told had applied, and in its order.
            foreach (var customer in acks.GroupBy(a => a.Customer))
            {
                var last = customer.MaxBy(a => a.Step)!;
                var record = await db.Customers.AsNoTracking().SingleAsync(c => c.SourceSystemId == system.Id && c.SourceCustomerId == customer.Key);
                var offers = await db.ConsentEntries.AsNoTracking().SingleAsync(e => e.CustomerId == record.Id && e.Code == "OFFERS");
                Assert.True(offers.RequestedAt >= last.RequestedAt, $"{customer.Key}: state at {offers.RequestedAt:O}, acknowledged {last.RequestedAt:O}");
                var steps = customer.OrderBy(a => a.Step).Select(a => a.LedgerIndex).ToList();
                Assert.Equal(steps.Order().ToList(), steps);
            }
        }

        // The ledger is whole: chained, gapless, every tree node and checkpoint consistent.
        var verify = await LedgerCli.RunAsync(app, "ledger", "verify");
        Assert.True(verify.Exit == 0, verify.Output + verify.Error);
        // And the database is left writable: the next change applies.
        using var after = await app.AsAsync(system);
        var next = await HubApp.SubmitAsync(after, system, "k-0", Seed.Consent("OFFERS", true, first.AddDays(1).ToString("O")));
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
    }
}
