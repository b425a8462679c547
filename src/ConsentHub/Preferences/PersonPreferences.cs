using System.Security.Cryptography;
using System.Text;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Subscriptions;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Preferences;

/// <summary>One consent or channel as the person sees it: the consolidated value and, for a consent, the words it was given in.</summary>
public sealed record PreferenceItem(string Code, bool Flag, string? Description, string? LongDescription);

/// <summary>
/// What one brand holds for the person: the consolidated data of one cluster (or one record outside any cluster) in one
/// organisation's context, with the context's branding. <paramref name="Key"/> names the section in the page's form
/// without naming an organisation, a cluster or a record; <paramref name="Record"/> is the record a save changes.
/// </summary>
public sealed record PreferenceSection(
    string Key, Customer Record, Branding Branding, IReadOnlyList<PreferenceItem> Consents, IReadOnlyList<PreferenceItem> Channels)
{
    public string Nmsc => Record.Nmsc;
    public string Context => Record.Context;
}

/// <summary>What the person chose in one section: of the codes the page showed, those left ticked.</summary>
public sealed record SectionChoice(
    string Key, IReadOnlySet<string> ShownConsents, IReadOnlySet<string> GrantedConsents, IReadOnlySet<string> ShownChannels, IReadOnlySet<string> AllowedChannels);

public enum SaveResult
{
    Saved,
    Unchanged,
    Failed,
}

/// <summary>
/// The person's side of the consent core. Their records are found by the blind index of the address the link proved,
/// in every organisation; each brand shows the consolidated data of the records' cluster. A save is a validated change
/// (the link proves the address) of one of those records through <see cref="SubscriptionChanges"/>: applied, in the
/// ledger, and propagated to every system of the cluster, like a change a source system sends.
/// </summary>
public sealed class PersonPreferences(
    ConsentDb db, PersonKeys keys, SubscriptionChanges changes, TenancyCache tenancy, TimeProvider time, ILogger<PersonPreferences> logger)
{
    /// <summary>Who the change requests name as their submitter.</summary>
    public const string SubmittedBy = "preference-centre";

    /// <summary>Records of one address read at most; more are a data problem, not a person.</summary>
    const int MaxRecords = 200;

    public async Task<List<PreferenceSection>> SectionsAsync(string emailKey, CancellationToken ct)
    {
        var records = await db.Customers.AsNoTracking().Where(c => c.EmailKey == emailKey)
            .OrderBy(c => c.Nmsc).ThenBy(c => c.Context).ThenBy(c => c.Id).Take(MaxRecords).ToListAsync(ct);
        var sections = new List<PreferenceSection>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var brandings = new Dictionary<string, Branding>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            var cluster = await ClusterMembership.ClusterIdAsync(db, record.Nmsc, RecordKey.Of(record), ct);
            var key = KeyOf(record.Nmsc, record.Context, cluster ?? $"record:{record.Id}");
            if (!seen.Add(key)) continue;
            var current = await CurrentSubscriptionData.ReadAsync(db, keys, record.Nmsc, record.Context, record.SourceSystem, record.SourceCustomerId, ct);
            if (current is null) continue;
            var consents = current.State.Consents.Values.OrderBy(e => e.Code, StringComparer.Ordinal)
                .Select(e => new PreferenceItem(e.Code, e.Flag, e.Description, e.LongDescription)).ToList();
            var channels = current.State.Channels.Values.OrderBy(e => e.Code, StringComparer.Ordinal)
                .Select(e => new PreferenceItem(e.Code, e.Flag, null, null)).ToList();
            if (consents.Count == 0 && channels.Count == 0) continue;
            if (!brandings.TryGetValue(record.Context, out var branding))
                brandings[record.Context] = branding = await ValidationContent.BrandingAsync(db, record.Context, ct);
            sections.Add(new PreferenceSection(key, record, branding, consents, channels));
        }
        return sections;
    }

    /// <summary>Applies what the person chose, section by section; a section the person no longer has is passed over.</summary>
    public async Task<SaveResult> SaveAsync(PreferenceGrant grant, IReadOnlyList<SectionChoice> choices, CancellationToken ct) =>
        await SaveAsync(grant, await SectionsAsync(grant.EmailKey, ct), choices, ct);

    async Task<SaveResult> SaveAsync(PreferenceGrant grant, List<PreferenceSection> sections, IReadOnlyList<SectionChoice> choices, CancellationToken ct)
    {
        var result = SaveResult.Unchanged;
        foreach (var choice in choices)
        {
            if (sections.FirstOrDefault(s => s.Key == choice.Key) is not { } section) continue;
            // Only what the page showed: a consent that arrived since is not withdrawn by a box the person never saw.
            var consents = section.Consents.Where(c => choice.ShownConsents.Contains(c.Code) && c.Flag != choice.GrantedConsents.Contains(c.Code))
                .Select(c => c with { Flag = !c.Flag }).ToList();
            var channels = section.Channels.Where(c => choice.ShownChannels.Contains(c.Code) && c.Flag != choice.AllowedChannels.Contains(c.Code))
                .Select(c => c with { Flag = !c.Flag }).ToList();
            if (consents.Count == 0 && channels.Count == 0) continue;
            var saved = await SubmitAsync(section, consents, channels, grant, ct);
            result = !saved || result == SaveResult.Failed ? SaveResult.Failed : SaveResult.Saved;
        }
        return result;
    }

    /// <summary>Withdraws every consent and channel of every section the person has.</summary>
    public async Task<SaveResult> WithdrawAllAsync(PreferenceGrant grant, CancellationToken ct)
    {
        var sections = await SectionsAsync(grant.EmailKey, ct);
        var everything = sections.Select(s => new SectionChoice(
            s.Key, s.Consents.Select(c => c.Code).ToHashSet(), new HashSet<string>(), s.Channels.Select(c => c.Code).ToHashSet(), new HashSet<string>())).ToList();
        return await SaveAsync(grant, sections, everything, ct);
    }

    /// <summary>
    /// The changed items as validated changes of the section's record, at most <see cref="Categories.MaxPerRequest"/>
    /// consents to a change (the rule every change follows); the channels go with the first.
    /// </summary>
    async Task<bool> SubmitAsync(PreferenceSection section, List<PreferenceItem> consents, List<PreferenceItem> channels, PreferenceGrant grant, CancellationToken ct)
    {
        var record = section.Record;
        var system = await tenancy.SourceSystemAsync(db, record.Nmsc, record.Context, record.SourceSystem, ct)
            ?? throw new InvalidOperationException($"The source system of customer {record.Id} is missing.");
        var at = HubTime.Format(time.Now());
        var reference = $"{SubmittedBy}:{grant.LinkId}";
        var batches = consents.Chunk(Categories.MaxPerRequest).Select(c => c.ToList()).ToList();
        if (batches.Count == 0) batches.Add([]);
        for (var i = 0; i < batches.Count; i++)
        {
            var data = Change(batches[i], i == 0 ? channels : [], at, reference, system.Name);
            var (change, violations) = SubscriptionDataRules.Check(data, CategoryCatalogue.Replay);
            if (change is null)
            {
                // Combined categories may not share a change with the canonical ones they cover: one change each.
                var singles = batches[i].Select(c => Change([c], [], at, reference, system.Name)).ToList();
                if (i == 0 && channels.Count > 0) singles.Add(Change([], channels, at, reference, system.Name));
                foreach (var single in singles)
                {
                    var (alone, refused) = SubscriptionDataRules.Check(single, CategoryCatalogue.Replay);
                    if (alone is null)
                    {
                        logger.LogWarning("A preference-centre change of customer {CustomerId} breaks a rule: {Field} {Rule}", record.Id, refused[0].Field, refused[0].Rule);
                        return false;
                    }
                    if (!await SubmitOneAsync(system, record, single, alone, ct)) return false;
                }
                continue;
            }
            if (!await SubmitOneAsync(system, record, data, change, ct)) return false;
        }
        return true;
    }

    async Task<bool> SubmitOneAsync(SourceSystem system, Customer record, SubscriptionData data, NormalisedChange change, CancellationToken ct)
    {
        var outcome = await changes.SubmitAsync(system, record.SourceCustomerId, data, change, SubmittedBy, idempotency: null, propagate: true, ct,
            new SubmitExtras(NeverNotify: true));
        db.ChangeTracker.Clear();
        return outcome is SubmitOutcome.Accepted;
    }

    static SubscriptionData Change(IReadOnlyList<PreferenceItem> consents, IReadOnlyList<PreferenceItem> channels, string at, string reference, string origin) => new()
    {
        CommandType = CommandTypes.Requested,
        CommandTimestamp = at,
        Consent = new ConsentData
        {
            GdprCompliant = true, Validated = true, Notify = false,
            ConsentAttributes =
            [
                .. consents.Select(c => new ConsentAttribute
                {
                    ConsentCode = c.Code, ConsentFlag = c.Flag, ConsentDescription = c.Description, ConsentLongDescription = c.LongDescription,
                    RequestedTimestamp = at, ValidatedTimestamp = at, ValidationReference = reference, OriginSourceSystem = origin,
                }),
            ],
        },
        Channel = channels.Count == 0 ? null : new ChannelData
        {
            ChannelAttributes = [.. channels.Select(c => new ChannelAttribute { ChannelCode = c.Code, ChannelFlag = c.Flag, RequestedTimestamp = at, OriginSourceSystem = origin })],
        },
    };

    /// <summary>A section's name in the form: a hash, so the page names no organisation, cluster or record id.</summary>
    static string KeyOf(string nmsc, string context, string group) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{nmsc}\n{context}\n{group}")))[..20];
}
