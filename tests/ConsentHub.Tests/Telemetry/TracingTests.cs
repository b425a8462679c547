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
            Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-[0-9a-f]{{2}}$", kept);
        }
        var call = Assert.Single(receiver.Calls);
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-[0-9a-f]{{2}}$", call.TraceParent);
    }

    [ProviderTheory, Providers]
    public async Task With_a_collector_configured_the_changes_POST_and_its_delivery_arrive_there_as_one_trace(DatabaseProvider provider)
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var app = await HubApp.StartAsync(provider, new(Propagations.Settings)
        {
            ["ConsentHub:Telemetry:OtlpEndpoint"] = collector.Url,
            ["ConsentHub:Telemetry:OtlpExportMilliseconds"] = "200",
        });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "customer-7781", Seed.Consent("OFFERS", true));
        await Propagations.AllDeliveredAsync(app, crm, 1);

        // The POST's span is kept on the message; the webhook call names the delivery's span, a child in the same trace.
        string kept;
        using (var scope = app.Scope()) kept = (await app.Db(scope).Propagations.Select(p => p.TraceParent).SingleAsync())!;
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", kept);
        var call = Assert.Single(receiver.Calls);
        Assert.NotNull(call.TraceParent);
        Assert.Equal(kept[..36], call.TraceParent[..36]);
        Assert.NotEqual(kept, call.TraceParent);
        var traceId = Convert.FromHexString(kept[3..35]);
        var postSpanId = Convert.FromHexString(kept[36..52]);
        var deliverySpanId = Convert.FromHexString(call.TraceParent[36..52]);

        // In the exported protobuf: the POST's span (named for its route, never a customer's id) and the delivery's span,
        // whose parent is the POST's, both of this trace.
        var post = "POST /contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}/subscription-data"u8.ToArray();
        var delivery = "deliver PROPAGATED"u8.ToArray();
        var traces = await Poll.UntilAsync(() => Task.FromResult(collector.Traces),
            t => t.Any(b => Has(b, post) && Has(b, traceId) && Has(b, postSpanId))
                && t.Any(b => Has(b, delivery) && Has(b, traceId) && Has(b, deliverySpanId) && Has(b, postSpanId)),
            TimeSpan.FromSeconds(30));
        Assert.Contains(traces, b => Has(b, post) && Has(b, traceId) && Has(b, postSpanId));
        Assert.Contains(traces, b => Has(b, delivery) && Has(b, traceId) && Has(b, deliverySpanId) && Has(b, postSpanId));
        Assert.DoesNotContain(traces, b => Has(b, "customer-7781"u8.ToArray()));
        // Metrics go there too.
        var metrics = await Poll.UntilAsync(() => Task.FromResult(collector.Metrics),
            m => m.Any(b => Has(b, "consenthub.changes.applied"u8.ToArray())), TimeSpan.FromSeconds(30));
        Assert.Contains(metrics, b => Has(b, "consenthub.changes.applied"u8.ToArray()));

        static bool Has(byte[] body, byte[] part) => body.AsSpan().IndexOf(part) >= 0;
    }
}
