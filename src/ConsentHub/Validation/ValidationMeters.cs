using System.Diagnostics.Metrics;

namespace ConsentHub.Validation;

/// <summary>
/// The double opt-in's figures for operators (issue 21 §3): validation emails sent, validations confirmed and expired, by
/// organisation, each counted once its step has committed. The meter comes from the host's factory, so each hub in a
/// process has its own.
/// </summary>
public sealed class ValidationMeters
{
    public const string MeterName = "ConsentHub.Validation";

    readonly Counter<long> sent;
    readonly Counter<long> confirmed;
    readonly Counter<long> expired;

    public ValidationMeters(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        sent = meter.CreateCounter<long>("consenthub.validations.sent", "{email}",
            "Validation emails the mail server took, by organisation (nmsc) and email (first, reminder)");
        confirmed = meter.CreateCounter<long>("consenthub.validations.confirmed", "{validation}",
            "Validations confirmed, by organisation (nmsc) and by whom (person, partner)");
        expired = meter.CreateCounter<long>("consenthub.validations.expired", "{validation}",
            "Validations whose windows ended unconfirmed, by organisation (nmsc)");
    }

    public void Sent(string nmsc, bool reminder) =>
        sent.Add(1, new KeyValuePair<string, object?>("nmsc", nmsc), new KeyValuePair<string, object?>("email", reminder ? "reminder" : "first"));

    public void Confirmed(string nmsc, bool byPartner) =>
        confirmed.Add(1, new KeyValuePair<string, object?>("nmsc", nmsc), new KeyValuePair<string, object?>("by", byPartner ? "partner" : "person"));

    public void Expired(string nmsc) => expired.Add(1, new KeyValuePair<string, object?>("nmsc", nmsc));
}
