using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Extracts;
using ConsentHub.Hosting;

namespace ConsentHub.Reminders;

/// <summary>What a reminder rule selects and how it reminds, as the admin defined it.</summary>
public sealed record ReminderSpec(
    IReadOnlyList<string> Categories, bool Flag, string OlderThan, string? RemindAgainAfter, IReadOnlyList<string> Contexts, string? Language,
    string Channel, string? SourceSystem, string Schedule)
{
    public const int MaxCategories = 50;
    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static ReminderSpec FromJson(string json) =>
        JsonSerializer.Deserialize<ReminderSpec>(json, JsonOptions) ?? throw new InvalidOperationException("A reminder rule's stored definition is empty.");

    /// <summary>How long a reminded record is left alone by the same rule: remindAgainAfter, else olderThan.</summary>
    public IsoDuration Period => IsoDuration.Parse(RemindAgainAfter ?? OlderThan)!;

    static readonly string[] Members = ["categories", "flag", "olderThan", "remindAgainAfter", "contexts", "language", "channel", "sourceSystem", "schedule"];

    public static (ReminderSpec? Spec, List<Violation> Violations) Read(JsonObject body)
    {
        var violations = new List<Violation>();
        foreach (var (name, _) in body)
        {
            if (!Members.Contains(name))
                violations.Add(new Violation(name, "unknown-member", $"{name} is not a member of a reminder rule ({string.Join(", ", Members)})."));
        }
        var categories = new List<string>();
        if (body["categories"] is JsonArray array && array.Count is > 0 and <= MaxCategories)
        {
            for (var i = 0; i < array.Count; i++)
            {
                var code = array[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
                if (code is null || !ExtractSpec.IsCode(code)) violations.Add(new Violation($"categories[{i}]", "name", $"categories[{i}] is {ExtractSpec.CodeRule}."));
                else if (!categories.Contains(code)) categories.Add(code);
            }
        }
        else
        {
            violations.Add(new Violation("categories", "required", $"categories is a list of 1 to {MaxCategories} consent categories."));
        }

        bool flag = true;
        if (body["flag"] is { } f)
        {
            if (f is JsonValue fv && fv.GetValueKind() is JsonValueKind.True or JsonValueKind.False) flag = fv.GetValue<bool>();
            else violations.Add(new Violation("flag", "boolean", "flag is true or false: the value of the consents the rule reminds of (default true)."));
        }

        var olderThan = Duration(body, "olderThan", required: true, violations);
        var again = Duration(body, "remindAgainAfter", required: false, violations);

        var contexts = new List<string>();
        if (body["contexts"] is { } c)
        {
            if (c is JsonArray list && list.Count <= 100)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    var name = list[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? Tenancy.Names.Normalise(v.GetValue<string>()) : null;
                    if (name is null || !Tenancy.Names.IsTenantName(name)) violations.Add(new Violation($"contexts[{i}]", "name", $"contexts[{i}] is {Tenancy.Names.TenantNameRule}."));
                    else if (!contexts.Contains(name)) contexts.Add(name);
                }
            }
            else violations.Add(new Violation("contexts", "array", "contexts is a list of at most 100 contexts."));
        }

        string? language = null;
        if (body["language"] is { } l)
        {
            if (l is JsonValue lv && lv.GetValueKind() == JsonValueKind.String && lv.GetValue<string>() is { Length: >= 2 and <= 35 } tag
                && tag.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '-'))
                language = tag.ToLowerInvariant();
            else violations.Add(new Violation("language", "language-tag", "language is a language tag such as en or de: only records in that language are reminded."));
        }

        var channel = body["channel"] is JsonValue cv && cv.GetValueKind() == JsonValueKind.String && cv.GetValue<string>() is ReminderChannels.Email or ReminderChannels.Webhook
            ? cv.GetValue<string>() : null;
        if (channel is null) violations.Add(new Violation("channel", "one-of", "channel is \"email\" (the person is emailed) or \"webhook\" (the communication system is sent each reminder)."));

        string? sourceSystem = null;
        if (body["sourceSystem"] is { } s)
        {
            if (s is JsonValue sv && sv.GetValueKind() == JsonValueKind.String && Tenancy.Names.IsSourceSystemName(sv.GetValue<string>())) sourceSystem = sv.GetValue<string>();
            else violations.Add(new Violation("sourceSystem", "name", $"sourceSystem is {Tenancy.Names.SourceSystemNameRule}."));
        }
        if (channel == ReminderChannels.Webhook && body["sourceSystem"] is null)
            violations.Add(new Violation("sourceSystem", "required", "A webhook rule names the source system (the communication system) whose webhook receives the reminders."));
        if (channel == ReminderChannels.Email && body["sourceSystem"] is not null)
            violations.Add(new Violation("sourceSystem", "webhook-only", "sourceSystem names the communication system of a webhook rule; an email rule emails the person."));

        string? schedule = null;
        if (body["schedule"] is JsonValue sched && sched.GetValueKind() == JsonValueKind.String && CronSchedule.IsValid(sched.GetValue<string>()))
            schedule = sched.GetValue<string>().Trim();
        else
            violations.Add(new Violation("schedule", "cron", "schedule is a standard cron expression of five fields, in UTC (\"0 9 1 * *\": 09:00 on the 1st of every month)."));

        if (violations.Count > 0) return (null, violations);
        return (new ReminderSpec(categories, flag, olderThan!, again, contexts, language, channel!, sourceSystem, schedule!), violations);
    }

    static string? Duration(JsonObject body, string member, bool required, List<Violation> violations)
    {
        if (body[member] is null)
        {
            if (required) violations.Add(new Violation(member, "required", $"{member} is an ISO 8601 duration such as P24M or P1Y."));
            return null;
        }
        if (body[member] is JsonValue v && v.GetValueKind() == JsonValueKind.String && IsoDuration.Parse(v.GetValue<string>()) is { } duration
            && duration.After(DateTime.UnixEpoch) >= DateTime.UnixEpoch.AddDays(1))
            return duration.Text;
        violations.Add(new Violation(member, "duration", $"{member} is an ISO 8601 duration of at least a day, such as P24M, P1Y or P90D."));
        return null;
    }
}
