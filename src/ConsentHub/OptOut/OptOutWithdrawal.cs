using System.Globalization;
using ConsentHub.Consents;
using ConsentHub.Tenancy;

namespace ConsentHub.OptOut;

/// <summary>One change of a withdrawal: the consents to withdraw (with their current descriptions) and the channels.</summary>
public sealed record WithdrawalPart(IReadOnlyList<ConsentEntry> Consents, IReadOnlyList<string> Channels);

/// <summary>
/// What an opt-out changes on one record: every consent that is true becomes false, and so do the channels of the
/// identifiers that matched. A value chosen after the opt-out was received is the newer choice and is left alone.
/// </summary>
public static class OptOutWithdrawal
{
    /// <summary>
    /// The changes the record needs: none when nothing it holds is still true; one in general; more only when the record
    /// holds more true categories than one change may carry, or categories that overlap (both OFFERS and OFFERS_EVENTS,
    /// which one change may not name together).
    /// </summary>
    public static List<WithdrawalPart> Plan(SubscriptionState state, IReadOnlyList<string> channels, DateTime receivedAt)
    {
        var consents = state.Consents.Values.Where(e => e.Flag && e.RequestedAt <= receivedAt).OrderBy(e => e.Code, StringComparer.Ordinal).ToList();
        var trueChannel = channels.Any(c => state.Channels.TryGetValue(c, out var entry) && entry.Flag && entry.RequestedAt <= receivedAt);
        if (consents.Count == 0 && !trueChannel) return [];

        // Channels a later choice set stay as chosen; the others (true, or never sent) are recorded false.
        var withdrawn = channels.Where(c => !state.Channels.TryGetValue(c, out var entry) || entry.RequestedAt <= receivedAt).ToList();
        var parts = new List<(List<ConsentEntry> Consents, HashSet<string> Covered)>();
        foreach (var consent in consents)
        {
            var covers = Categories.PartsOf(consent.Code);
            var part = parts.FirstOrDefault(p => p.Consents.Count < Categories.MaxPerRequest && !covers.Any(p.Covered.Contains));
            if (part.Consents is null)
            {
                part = ([], []);
                parts.Add(part);
            }
            part.Consents.Add(consent);
            part.Covered.UnionWith(covers);
        }
        if (parts.Count == 0) return [new WithdrawalPart([], withdrawn)];
        return [.. parts.Select((p, i) => new WithdrawalPart(p.Consents, i == 0 ? withdrawn : []))];
    }

    /// <summary>The REQUESTED, validated change of one part, as a source system would send it.</summary>
    public static SubscriptionData Data(WithdrawalPart part, string originSourceSystem, DateTime receivedAt, string validationReference)
    {
        // Microseconds, as the hub stores instants: the change's time is exactly the opt-out's time of receipt.
        var at = receivedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        return new SubscriptionData
        {
            CommandType = CommandTypes.Requested,
            CommandTimestamp = at,
            Consent = new ConsentData
            {
                GdprCompliant = true,
                Validated = true,
                Notify = false,
                ConsentAttributes =
                [
                    .. part.Consents.Select(c => new ConsentAttribute
                    {
                        ConsentCode = c.Code, ConsentFlag = false, ConsentDescription = c.Description, ConsentLongDescription = c.LongDescription,
                        RequestedTimestamp = at, ValidatedTimestamp = at, ValidationReference = validationReference,
                        OriginSourceSystem = originSourceSystem,
                    }),
                ],
            },
            Channel = part.Channels.Count == 0 ? null : new ChannelData
            {
                ChannelAttributes =
                [
                    .. part.Channels.Select(c => new ChannelAttribute
                    {
                        ChannelCode = c, ChannelFlag = false, RequestedTimestamp = at, OriginSourceSystem = originSourceSystem,
                    }),
                ],
            },
        };
    }

    /// <summary>The idempotency key of a record's n-th withdrawal change: the customer id, then "/n" for any after the first.</summary>
    public static string Key(long customerId, int part) => part == 0 ? customerId.ToString(CultureInfo.InvariantCulture) : $"{customerId}/{part}";

    public static bool IsKeyOf(string key, long customerId)
    {
        var id = customerId.ToString(CultureInfo.InvariantCulture);
        return key == id || key.StartsWith(id + "/", StringComparison.Ordinal);
    }
}
