using System.Text.RegularExpressions;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Clusters;

/// <summary>What a cluster may contain: 1 to 1,000 distinct records of registered source systems of its organisation.</summary>
public static partial class ClusterRules
{
    public const int MaxClusterIdLength = 100;
    public const int MaxMembers = 1_000;
    public const string ClusterIdRule = "1 to 100 characters: letters, digits, '.', '_', '-' or ':'";

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex ClusterIdPattern();

    public static bool IsClusterId(string? value) => value is not null && ClusterIdPattern().IsMatch(value);

    /// <param name="systems">The organisation's registered source systems, as (context, name).</param>
    public static (List<RecordKey> Members, List<Violation> Violations) Check(ClusterInput input, ISet<(string Context, string Name)> systems)
    {
        var violations = new List<Violation>();
        var members = new List<RecordKey>();
        if (input.Members is not { Count: > 0 and <= MaxMembers } list)
        {
            violations.Add(new("members", "count", $"members must list 1 to {MaxMembers} records."));
            return (members, violations);
        }
        var seen = new HashSet<RecordKey>();
        for (var i = 0; i < list.Count; i++)
        {
            var field = $"members[{i}]";
            if (list[i] is not { } member)
            {
                violations.Add(new(field, "required", $"{field} must be an object."));
                continue;
            }
            var context = Names.Normalise(member.Context ?? "");
            var before = violations.Count;
            if (!Names.IsTenantName(context))
                violations.Add(new($"{field}.context", "tenant-name", $"{field}.context must be {Names.TenantNameRule}."));
            if (member.SourceSystem is not { } system || !Names.IsSourceSystemName(system))
                violations.Add(new($"{field}.sourceSystem", "source-system-name", $"{field}.sourceSystem must be {Names.SourceSystemNameRule}."));
            else if (violations.Count == before && !systems.Contains((context, system)))
                violations.Add(new($"{field}.sourceSystem", "must-exist", $"No source system '{system}' is registered in this organisation and context '{context}'."));
            if (member.SourceCustomerId is not { } id || !Names.IsSourceCustomerId(id))
                violations.Add(new($"{field}.sourceCustomerId", "source-customer-id",
                    $"{field}.sourceCustomerId must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces."));
            if (violations.Count > before) continue;

            var key = new RecordKey(context, member.SourceSystem!, member.SourceCustomerId!);
            if (!seen.Add(key))
                violations.Add(new(field, "duplicate", $"{field} names a record already listed."));
            else
                members.Add(key);
        }
        return (members, violations);
    }
}
