using System.Globalization;
using System.Text.Json;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Inbound;

/// <summary>One event mapped: the record it is about and its subscription data, or why it could not be mapped.</summary>
public sealed record MappedEvent(string? SourceCustomerId, SubscriptionData? Data, IReadOnlyList<Violation> Violations);

/// <summary>
/// How an event type turns a JSON event into subscription data: declarative, never code. Each member is a JSON Pointer
/// into the event (<c>"/mail"</c>), an object <c>{ "pointer", "values"?, "format"? }</c>, or a constant
/// <c>{ "const": … }</c>. Flags read JSON booleans, or through <c>values</c> (<c>{ "yes": true, "no": false, "1": true }</c>,
/// keyed by the value's text).
/// </summary>
public sealed class EventMapping
{
    public const int MaxPointerLength = 500;
    public const int MaxValues = 50;
    public const int MaxValueLength = 100;

    /// <summary>The members a mapping may have, besides <c>consents</c> and <c>channels</c>.</summary>
    static readonly string[] TextMembers = ["sourceCustomerId", "email", "phone", "language", "country"];
    static readonly string[] FlagMembers = ["validated", "gdprCompliant"];
    const string TimeMember = "requestedTimestamp";

    /// <summary>How a time is written in an event: ISO 8601 text (the default), or seconds or milliseconds since 1970.</summary>
    public static class TimeFormats
    {
        public const string Iso8601 = "iso8601";
        public const string Unix = "unix";
        public const string UnixMilliseconds = "unix-ms";
        public static readonly string[] All = [Iso8601, Unix, UnixMilliseconds];
    }

    enum Kind { Text, Flag, Time }

    /// <summary>One mapped member: where it is in the mapping, and where its value comes from.</summary>
    sealed record Field(string Location, Kind Kind, string? Pointer, string[]? Tokens, JsonElement? Constant,
        IReadOnlyDictionary<string, bool>? Values, string Format)
    {
        /// <summary>What a violation of this member's value names: the event's pointer, or the mapping's constant.</summary>
        public string Names => Pointer ?? Location;
    }

    readonly Dictionary<string, Field> members = new(StringComparer.Ordinal);
    readonly List<(string Code, Field Field)> consents = [];
    readonly List<(string Code, Field Field)> channels = [];

    EventMapping() { }

    /// <summary>The consent categories the mapping sets, in its order.</summary>
    public IReadOnlyList<string> ConsentCodes => [.. consents.Select(c => c.Code)];

    /// <summary>
    /// Checks a mapping when it is saved: every member known and well formed, pointers valid, categories the organisation
    /// offers, channels the hub knows. Each violation names the member (<c>mapping.consents.OFFERS.values</c>).
    /// </summary>
    public static (EventMapping? Mapping, List<Violation> Violations) Parse(JsonElement mapping, CategoryCatalogue catalogue, string at = "mapping")
    {
        var v = new List<Violation>();
        if (mapping.ValueKind != JsonValueKind.Object)
        {
            v.Add(new(at, "json", $"{at} must be an object, like {{ \"sourceCustomerId\": \"/id\", \"consents\": {{ \"OFFERS\": \"/newsletter\" }} }}."));
            return (null, v);
        }
        var result = new EventMapping();
        foreach (var member in mapping.EnumerateObject())
        {
            var location = $"{at}.{member.Name}";
            if (TextMembers.Contains(member.Name)) result.Add(member.Name, ParseField(member.Value, location, Kind.Text, v));
            else if (FlagMembers.Contains(member.Name)) result.Add(member.Name, ParseField(member.Value, location, Kind.Flag, v));
            else if (member.Name == TimeMember) result.Add(member.Name, ParseField(member.Value, location, Kind.Time, v));
            else if (member.Name == "consents") ParseCodes(member.Value, location, catalogue, v, result.consents, isConsent: true);
            else if (member.Name == "channels") ParseCodes(member.Value, location, catalogue, v, result.channels, isConsent: false);
            else
                v.Add(new(location, "unknown-member",
                    $"'{member.Name}' is not a mapping member; use {string.Join(", ", TextMembers.Concat(FlagMembers).Append(TimeMember))}, consents or channels."));
        }
        if (!result.members.TryGetValue("sourceCustomerId", out var id))
        {
            if (!mapping.TryGetProperty("sourceCustomerId", out _))
                v.Add(new($"{at}.sourceCustomerId", "required", "sourceCustomerId is required: the pointer to the event's id of the person's record, like \"/id\"."));
        }
        else if (id.Constant is not null)
            v.Add(new($"{at}.sourceCustomerId", "const-not-allowed", "sourceCustomerId must point into the event: a constant would make every event the same record."));
        if (result.consents.Count == 0 && result.channels.Count == 0 && !mapping.TryGetProperty("consents", out _) && !mapping.TryGetProperty("channels", out _))
            v.Add(new($"{at}.consents", "required", "Map at least one consent category (consents) or channel (channels) to the event's flag."));
        return v.Count > 0 ? (null, v) : (result, v);
    }

    void Add(string name, Field? field)
    {
        if (field is not null) members[name] = field;
    }

    static void ParseCodes(JsonElement value, string at, CategoryCatalogue catalogue, List<Violation> v, List<(string, Field)> into, bool isConsent)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            v.Add(new(at, "json", $"{at} must be an object of {(isConsent ? "category codes" : "channel codes")} to the event's flag."));
            return;
        }
        var count = 0;
        var claimed = new Dictionary<string, string>();
        foreach (var member in value.EnumerateObject())
        {
            count++;
            var location = $"{at}.{member.Name}";
            if (isConsent)
            {
                if (catalogue.Violation(location, member.Name) is { } refused) { v.Add(refused); continue; }
                var overlap = Categories.PartsOf(member.Name).Select(p => claimed.GetValueOrDefault(p)).FirstOrDefault(o => o is not null);
                if (overlap is not null)
                {
                    v.Add(new(location, "overlapping-categories", $"'{member.Name}' overlaps '{overlap}': one event cannot set both."));
                    continue;
                }
                foreach (var part in Categories.PartsOf(member.Name)) claimed[part] = member.Name;
            }
            else if (!Categories.Channels.Contains(member.Name))
            {
                v.Add(new(location, "unknown-channel", $"'{member.Name}' is not a channel; use EMAIL, SMS, PHONE or MAIL."));
                continue;
            }
            if (ParseField(member.Value, location, Kind.Flag, v) is { } field) into.Add((member.Name, field));
        }
        if (isConsent && count > Categories.MaxPerRequest)
            v.Add(new(at, "max-categories", $"At most {Categories.MaxPerRequest} consent categories; got {count}."));
    }

    static Field? ParseField(JsonElement value, string at, Kind kind, List<Violation> v)
    {
        if (value.ValueKind == JsonValueKind.String) return PointerField(value.GetString()!, at, kind, values: null, TimeFormats.Iso8601, v);
        if (value.ValueKind != JsonValueKind.Object)
        {
            v.Add(new(at, "json", $"{at} must be a JSON Pointer into the event (\"/field\"), {{ \"pointer\": … }} or {{ \"const\": … }}."));
            return null;
        }
        string? pointer = null;
        JsonElement? constant = null;
        JsonElement? values = null;
        string? format = null;
        var ok = true;
        foreach (var member in value.EnumerateObject())
        {
            switch (member.Name)
            {
                case "pointer" when member.Value.ValueKind == JsonValueKind.String:
                    pointer = member.Value.GetString();
                    break;
                case "pointer":
                    v.Add(new($"{at}.pointer", "json", "pointer must be a JSON Pointer string, like \"/newsletter\"."));
                    ok = false;
                    break;
                case "const":
                    constant = member.Value.Clone();
                    break;
                case "values" when kind == Kind.Flag:
                    values = member.Value.Clone();
                    break;
                case "format" when kind == Kind.Time && member.Value.ValueKind == JsonValueKind.String && TimeFormats.All.Contains(member.Value.GetString()):
                    format = member.Value.GetString();
                    break;
                case "format" when kind == Kind.Time:
                    v.Add(new($"{at}.format", "time-format", $"format must be one of {string.Join(", ", TimeFormats.All)}."));
                    ok = false;
                    break;
                default:
                    v.Add(new($"{at}.{member.Name}", "unknown-member", kind switch
                    {
                        Kind.Flag => $"A flag is mapped with pointer and values, or const; '{member.Name}' is not one of them.",
                        Kind.Time => $"A time is mapped with pointer and format, or const; '{member.Name}' is not one of them.",
                        _ => $"A text is mapped with pointer or const; '{member.Name}' is not one of them.",
                    }));
                    ok = false;
                    break;
            }
        }
        if (!ok) return null;
        if (pointer is not null && constant is not null)
        {
            v.Add(new(at, "pointer-or-const", $"{at} has both pointer and const; give one."));
            return null;
        }
        if (constant is { } c)
        {
            if (values is not null || format is not null)
            {
                v.Add(new(at, "const-alone", $"{at} is a constant: values and format apply to a pointer only."));
                return null;
            }
            var fits = kind switch
            {
                Kind.Flag => c.ValueKind is JsonValueKind.True or JsonValueKind.False,
                Kind.Time => c.ValueKind == JsonValueKind.String && Timestamps.TryParse(c.GetString()!, out _),
                _ => c.ValueKind == JsonValueKind.String && c.GetString()!.Length > 0,
            };
            if (!fits)
            {
                v.Add(new($"{at}.const", "json", kind switch
                {
                    Kind.Flag => "The constant of a flag is true or false.",
                    Kind.Time => $"The constant of a time is {Timestamps.Rule}.",
                    _ => "The constant of a text is a non-empty string.",
                }));
                return null;
            }
            return new Field(at, kind, null, null, c, null, TimeFormats.Iso8601);
        }
        if (pointer is null)
        {
            v.Add(new(at, "pointer-or-const", $"{at} needs a pointer into the event or a const."));
            return null;
        }
        Dictionary<string, bool>? map = null;
        if (values is { } given)
        {
            map = ParseValues(given, $"{at}.values", v);
            if (map is null) return null;
        }
        return PointerField(pointer, at, kind, map, format ?? TimeFormats.Iso8601, v);
    }

    static Field? PointerField(string pointer, string at, Kind kind, Dictionary<string, bool>? values, string format, List<Violation> v)
    {
        var (tokens, error) = CheckPointer(pointer);
        if (error is not null)
        {
            v.Add(new(at, "json-pointer", error));
            return null;
        }
        return new Field(at, kind, pointer, tokens, null, values, format);
    }

    /// <summary>The tokens of a pointer that names a member of the event (not the whole event), or why it is refused.</summary>
    public static (string[]? Tokens, string? Error) CheckPointer(string pointer)
    {
        if (pointer.Length > MaxPointerLength) return (null, $"A JSON Pointer is at most {MaxPointerLength} characters.");
        if (pointer.Length == 0) return (null, "The empty JSON Pointer names the whole event; point at a member, like \"/mail\".");
        return JsonPointers.Parse(pointer);
    }

    static Dictionary<string, bool>? ParseValues(JsonElement values, string at, List<Violation> v)
    {
        if (values.ValueKind != JsonValueKind.Object)
        {
            v.Add(new(at, "json", $"{at} maps the event's values to flags, like {{ \"yes\": true, \"no\": false, \"1\": true }}."));
            return null;
        }
        var map = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var member in values.EnumerateObject())
        {
            if (member.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                v.Add(new($"{at}.{member.Name}", "json", $"'{member.Name}' must map to true or false."));
                return null;
            }
            if (member.Name.Length > MaxValueLength)
            {
                v.Add(new($"{at}.{member.Name[..20]}…", "max-length", $"A mapped value is at most {MaxValueLength} characters."));
                return null;
            }
            map[member.Name] = member.Value.GetBoolean();
        }
        if (map.Count == 0) v.Add(new(at, "required", $"{at} is empty: map at least one value, or leave values out to read JSON booleans."));
        else if (map.Count > MaxValues) v.Add(new(at, "max-values", $"At most {MaxValues} values; got {map.Count}."));
        return map.Count is 0 or > MaxValues ? null : map;
    }

    /// <summary>
    /// Maps one event. <paramref name="receivedAt"/> stands for the requested time when the mapping has none or the event
    /// leaves it out. What the event lacks or holds in the wrong shape is named by its pointer; the consent rules' own
    /// violations are named in <see cref="Translate"/>.
    /// </summary>
    public MappedEvent Map(JsonElement ev, DateTime receivedAt, string validationReference)
    {
        var v = new List<Violation>();
        if (ev.ValueKind != JsonValueKind.Object)
            return new(null, null, [new("event", "json", "An event is a JSON object.")]);

        var sourceCustomerId = Text("sourceCustomerId", ev, v);
        if (sourceCustomerId is null && v.Count == 0)
            v.Add(new(members["sourceCustomerId"].Names, "required", $"The event has no {members["sourceCustomerId"].Names}: it names the person's record (sourceCustomerId)."));
        else if (sourceCustomerId is not null && !Names.IsSourceCustomerId(sourceCustomerId))
            v.Add(new(members["sourceCustomerId"].Names, "source-customer-id",
                $"The record id must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces."));

        var requested = Time(ev, v) ?? HubTime.Format(receivedAt);
        var validated = Flag(members.GetValueOrDefault("validated"), ev, v) ?? false;
        var gdprCompliant = Flag(members.GetValueOrDefault("gdprCompliant"), ev, v) ?? true;
        var email = Text("email", ev, v);
        var phone = Text("phone", ev, v);
        var language = Text("language", ev, v);
        var country = Text("country", ev, v);

        var consentAttributes = new List<ConsentAttribute>();
        foreach (var (code, field) in consents)
        {
            if (Flag(field, ev, v) is not { } flag) continue;
            consentAttributes.Add(new ConsentAttribute
            {
                ConsentCode = code, ConsentFlag = flag, RequestedTimestamp = requested,
                ValidatedTimestamp = validated ? requested : null, ValidationReference = validated ? validationReference : null,
            });
        }
        var channelAttributes = new List<ChannelAttribute>();
        foreach (var (code, field) in channels)
        {
            if (Flag(field, ev, v) is not { } flag) continue;
            channelAttributes.Add(new ChannelAttribute { ChannelCode = code, ChannelFlag = flag, RequestedTimestamp = requested });
        }
        if (v.Count > 0) return new(sourceCustomerId, null, v);

        var hasContact = email is not null || phone is not null || language is not null || country is not null;
        var data = new SubscriptionData
        {
            CommandType = CommandTypes.Requested,
            CommandTimestamp = requested,
            Consent = new ConsentData
            {
                GdprCompliant = gdprCompliant,
                Validated = validated,
                CommunicationAttributes = hasContact ? new CommunicationAttributes { Email = email, Phone = phone, Language = language, Country = country } : null,
                ConsentAttributes = consentAttributes,
            },
            Channel = channelAttributes.Count > 0 ? new ChannelData { ChannelAttributes = channelAttributes } : null,
        };
        return new(sourceCustomerId, data, v);
    }

    /// <summary>
    /// Names the consent rules' violations of mapped data by what the integrator controls: the event's pointer, or the
    /// mapping's member when a constant broke the rule.
    /// </summary>
    public List<Violation> Translate(SubscriptionData data, IEnumerable<Violation> violations)
    {
        var mappedConsents = data.Consent?.ConsentAttributes ?? [];
        var mappedChannels = data.Channel?.ChannelAttributes ?? [];
        return [.. violations.Select(violation => violation with { Field = Locate(violation.Field, mappedConsents, mappedChannels) })];
    }

    string Locate(string field, List<ConsentAttribute> mappedConsents, List<ChannelAttribute> mappedChannels)
    {
        const string communication = "consent.communicationAttributes.";
        if (field.StartsWith(communication, StringComparison.Ordinal)) return Named(field[communication.Length..]);
        if (field == "consent.gdprCompliant") return Named("gdprCompliant");
        if (field == "consent") return "event";
        if (field == "commandTimestamp") return Named(TimeMember);
        if (Indexed(field, "consent.consentAttributes[") is { } consent && consent < mappedConsents.Count)
            return field.EndsWith(".requestedTimestamp", StringComparison.Ordinal) || field.EndsWith(".validatedTimestamp", StringComparison.Ordinal)
                ? Named(TimeMember)
                : consents.Single(c => c.Code == mappedConsents[consent].ConsentCode).Field.Names;
        if (Indexed(field, "channel.channelAttributes[") is { } channel && channel < mappedChannels.Count)
            return field.EndsWith(".requestedTimestamp", StringComparison.Ordinal)
                ? Named(TimeMember)
                : channels.Single(c => c.Code == mappedChannels[channel].ChannelCode).Field.Names;
        return field;
    }

    string Named(string member) => members.TryGetValue(member, out var field) ? field.Names : $"mapping.{member}";

    static int? Indexed(string field, string prefix)
    {
        if (!field.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var end = field.IndexOf(']', prefix.Length);
        return end > 0 && int.TryParse(field.AsSpan(prefix.Length, end - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;
    }

    /// <summary>The value a field reads in the event: absent (null) when its pointer finds nothing or JSON null.</summary>
    static JsonElement? Read(Field field, JsonElement ev)
    {
        if (field.Constant is { } constant) return constant;
        return JsonPointers.TryEvaluate(ev, field.Tokens!, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    string? Text(string member, JsonElement ev, List<Violation> v)
    {
        if (!members.TryGetValue(member, out var field) || Read(field, ev) is not { } value) return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                return text.Length == 0 ? null : text;
            // A numeric id or phone number is read as written.
            case JsonValueKind.Number when member is "sourceCustomerId" or "phone":
                return value.GetRawText();
            default:
                v.Add(new(field.Names, "json-type", $"{field.Names} must be a string ({member})."));
                return null;
        }
    }

    static bool? Flag(Field? field, JsonElement ev, List<Violation> v)
    {
        if (field is null || Read(field, ev) is not { } value) return null;
        if (field.Values is { } map)
        {
            var text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (text is not null && map.TryGetValue(text, out var mapped)) return mapped;
            v.Add(new(field.Names, "unmapped-value",
                $"{field.Names} is {Shown(value)}, which the mapping's values do not name; it names {string.Join(", ", map.Keys.Select(k => $"'{k}'"))}."));
            return null;
        }
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
        v.Add(new(field.Names, "json-type", $"{field.Names} is {Shown(value)}: a flag is true or false, unless the mapping lists its values."));
        return null;
    }

    string? Time(JsonElement ev, List<Violation> v)
    {
        if (!members.TryGetValue(TimeMember, out var field) || Read(field, ev) is not { } value) return null;
        switch (field.Format)
        {
            case TimeFormats.Iso8601 when value.ValueKind == JsonValueKind.String:
                var text = value.GetString()!;
                if (Timestamps.TryParse(text, out _)) return text;
                break;
            case TimeFormats.Unix or TimeFormats.UnixMilliseconds when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number):
                var milliseconds = field.Format == TimeFormats.Unix ? number * 1000 : number;
                if (milliseconds is > -62_135_596_800_000 and < 253_402_300_800_000)
                    return HubTime.Format(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).UtcDateTime);
                break;
        }
        v.Add(new(field.Names, "timestamp-format", field.Format switch
        {
            TimeFormats.Unix => $"{field.Names} is {Shown(value)}: the mapping reads whole seconds since 1970-01-01T00:00:00Z.",
            TimeFormats.UnixMilliseconds => $"{field.Names} is {Shown(value)}: the mapping reads whole milliseconds since 1970-01-01T00:00:00Z.",
            _ => $"{field.Names} is {Shown(value)}, not {Timestamps.Rule}.",
        }));
        return null;
    }

    static string Shown(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
