using System.Globalization;
using System.Text.Json;

namespace ConsentHub.Inbound;

/// <summary>JSON Pointers (RFC 6901) over <see cref="JsonElement"/>: parsed once when a mapping is saved, evaluated per event.</summary>
public static class JsonPointers
{
    /// <summary>
    /// The reference tokens of <paramref name="pointer"/>, or why it is not a JSON Pointer. The empty pointer names the
    /// whole document; any other starts with '/', and '~' appears only as '~0' ('~') or '~1' ('/').
    /// </summary>
    public static (string[]? Tokens, string? Error) Parse(string pointer)
    {
        if (pointer.Length == 0) return ([], null);
        if (pointer[0] != '/') return (null, $"'{pointer}' is not a JSON Pointer: it must start with '/', like /mail");
        var parts = pointer[1..].Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            for (var j = part.IndexOf('~'); j >= 0; j = part.IndexOf('~', j + 1))
            {
                if (j + 1 >= part.Length || (part[j + 1] != '0' && part[j + 1] != '1'))
                    return (null, $"'{pointer}' is not a JSON Pointer: '~' must be written ~0, and '/' inside a name ~1");
            }
            // ~1 first, then ~0: "~01" is "~1" unescaped once, never "/".
            parts[i] = part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        }
        return (parts, null);
    }

    /// <summary>The value the tokens name in <paramref name="root"/>; false when a member or index is missing.</summary>
    public static bool TryEvaluate(JsonElement root, IReadOnlyList<string> tokens, out JsonElement value)
    {
        value = root;
        foreach (var token in tokens)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Object:
                    if (!value.TryGetProperty(token, out value)) return false;
                    break;
                case JsonValueKind.Array:
                    // RFC 6901 §4: an index is "0" or digits without a leading zero.
                    if (token.Length == 0 || (token.Length > 1 && token[0] == '0') || !token.All(char.IsAsciiDigit)
                        || !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= value.GetArrayLength())
                        return false;
                    value = value[index];
                    break;
                default:
                    return false;
            }
        }
        return true;
    }
}
