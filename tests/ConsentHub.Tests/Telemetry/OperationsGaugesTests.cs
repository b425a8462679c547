using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Telemetry;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Telemetry;

/// <summary>
/// The gauges operators alert on (issue 21 §3), from one sample of the database: outbox lag and messages by destination,
/// the mail queue, the ledger's size and checkpoint age, and running uploads.
/// </summary>
public sealed class OperationsGaugesTests
{
    [ProviderTheory, Providers]
    public async Task A_sample_shows_a_failing_destinations_backlog_the_mail_queue_the_ledger_and_running_uploads(DatabaseProvider provider)
    {
        // Sampled only when the test asks: the interval is longer than the test.
        await using var app = await HubApp.StartAsync(provider, new(Propagations.Settings) { ["ConsentHub:Telemetry:SampleSeconds"] = "3600" });
        var nmsc = $"m{Guid.NewGuid():N}"[..12];
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        await using var working = await WebhookReceiver.StartAsync();
        await using var failing = await WebhookReceiver.StartAsync();
        failing.Answer = (_, _) => new ReceiverAnswer(500);
        await Propagations.RegisterAsync(app, crm, working);
        await Propagations.RegisterAsync(app, dms, failing);
        using (var client = await app.AsAsync(crm))
        {
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
            // The validation worker is off: its email waits.
            Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "c-2", Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        }
        using (var client = await app.AsAsync(dms)) await HubApp.AppliedAsync(client, dms, "d-1", Seed.Consent("OFFERS", true));
        await Propagations.AllDeliveredAsync(app, crm, 1);
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(failing.Calls.Count), n => n >= 1, TimeSpan.FromSeconds(20)) >= 1, "dms's receiver was never called");
        long ledgerSize;
        using (var scope = app.Scope())
        {
            Assert.NotNull(await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None));
            var db = app.Db(scope);
            ledgerSize = await db.LedgerEntries.CountAsync();
            db.Uploads.Add(new Upload
            {
                Id = Guid.NewGuid(), SourceSystemId = crm.Id, Nmsc = nmsc, Context = "toyota", SourceSystem = "crm", SubmittedBy = "test",
                Status = UploadStatuses.Running, Read = 7, Applied = 5, Rejected = 2, StartedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
                HeartbeatAt = DateTime.UtcNow,
            });
            Assert.Equal(1, await db.SaveChangesAsync());
        }

        var gauges = app.Services.GetRequiredService<OperationsGauges>();
        await gauges.SampleAsync(CancellationToken.None);
        // Figures without an organisation are read from this hub's sample: every hub of the test process is scraped.
        var sample = gauges.Latest!;
        Assert.Equal(ledgerSize, sample.LedgerEntries);
        Assert.NotNull(sample.LatestCheckpointAt);
        var validationMail = sample.Mail.Single(m => m.Kind == "validation");
        Assert.Equal((1, 0), (validationMail.Waiting, validationMail.Failed));

        using var admin = await app.AdminAsync();
        var text = await admin.GetStringAsync("/metrics");
        Assert.Equal(1, Value(text, "consenthub_outbox_messages", "toyota/dms", "state=\"pending\""));
        Assert.Equal(0, Value(text, "consenthub_outbox_messages", "toyota/crm", "state=\"pending\""));
        Assert.True(Value(text, "consenthub_outbox_lag_seconds", "toyota/dms", "") > 0, text);
        Assert.Equal(0, Value(text, "consenthub_outbox_lag_seconds", "toyota/crm", ""));
        Assert.Equal(7, Value(text, "consenthub_uploads_records", "toyota/crm", "outcome=\"read\"", label: "source"));
        Assert.Equal(2, Value(text, "consenthub_uploads_records", "toyota/crm", "outcome=\"rejected\"", label: "source"));
        Assert.Equal(1, Value(text, "consenthub_uploads_running", "toyota/crm", "", label: "source"));
        foreach (var name in new[] { "consenthub_mail_waiting{", "consenthub_mail_failed{", "consenthub_ledger_entries ", "consenthub_ledger_checkpoint_age_seconds " })
            Assert.Contains(name, text);
        Assert.DoesNotContain("c-1", text);

        double Value(string text, string name, string destination, string more, string label = "destination")
        {
            var match = Regex.Match(text,
                $@"^{name}\{{(?=[^}}]*{label}=""{Regex.Escape(destination)}"")(?=[^}}]*nmsc=""{nmsc}"")(?=[^}}]*{Regex.Escape(more)})[^}}]*\}} (\S+)",
                RegexOptions.Multiline);
            Assert.True(match.Success, $"no {name} {destination} {more} for {nmsc}:\n{text}");
            return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }
    }
}
