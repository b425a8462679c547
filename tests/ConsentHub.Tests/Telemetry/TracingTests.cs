using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Telemetry;

/// <summary>
/// Traces across a change (issue 21 §3): the trace of the request that applied it is kept with its propagation message,
/// and its webhook call carries it on (W3C traceparent), so the receiver can continue it.
/// </summary>
public sealed class TracingTests
{
    [ProviderTheory, Providers]
    public async Task The_webhook_call_continues_the_trace_of_the_request_that_applied_the_change(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        using (var client = await app.AsAsync(crm))
        {
            // As a caller that traces its own work sends it.
            client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{"b7ad6b7169203331"}-01");
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        }
        await Propagations.AllDeliveredAsync(app, crm, 1);

        using (var scope = app.Scope())
        {
            var kept = await app.Db(scope).Propagations.Select(p => p.TraceParent).SingleAsync();
            Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-0[01]$", kept);
        }
        var call = Assert.Single(receiver.Calls);
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-0[01]$", call.TraceParent);
    }
}
