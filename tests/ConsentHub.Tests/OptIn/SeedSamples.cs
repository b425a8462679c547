using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// The sample requests and responses of seed 003, stored byte for byte as published in seed-003/ (copied to the
/// output by the test project), and the member-by-member comparison of an answer with a sample.
/// </summary>
public static class SeedSamples
{
    /// <summary>A sample exactly as the seed publishes it, e.g. <c>Raw("create-consent-data.request")</c>.</summary>
    public static string Raw(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "OptIn", "seed-003", name + ".json"));

    /// <summary>
    /// A sample response as JSON. The published page indents its samples with no-break spaces (U+00A0), which JSON does
    /// not count as whitespace, so they are read as spaces here; the samples contain none inside a string.
    /// </summary>
    public static JsonObject Response(string call)
    {
        var text = Raw(call + ".response").Replace('\u00A0', ' ');
        // The seed's last sample ("POST Set OptOut for Person") lacks the closing brace of its outer object; the file
        // keeps it as published and the brace is added here.
        if (call == "set-optout-for-person") text = text.TrimEnd() + "\n}";
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> has the sample's members, in its order, of its JSON types, with its values,
    /// except the ids <c>pk</c> and <c>extRefNo</c> (only present and strings here; the caller checks their shape and
    /// consistency from the returned list) and the paths in <paramref name="expected"/>, whose values are given instead.
    /// </summary>
    /// <returns>Each id the answer carries: its path (like <c>$.optIns[0].pk</c>) and value.</returns>
    public static Dictionary<string, string> AssertMatches(JsonNode sample, JsonNode actual, IReadOnlyDictionary<string, JsonNode>? expected = null)
    {
        var ids = new Dictionary<string, string>();
        Compare(sample, actual, "$", expected ?? new Dictionary<string, JsonNode>(), ids);
        foreach (var path in (expected ?? new Dictionary<string, JsonNode>()).Keys)
            Assert.True(Exists(actual, path), $"{path} was to be compared but the answer has no such member");
        return ids;
    }

    static void Compare(JsonNode? sample, JsonNode? actual, string path, IReadOnlyDictionary<string, JsonNode> expected, Dictionary<string, string> ids)
    {
        Assert.True(actual is not null, $"{path}: missing (null) in the answer");
        if (expected.TryGetValue(path, out var instead))
        {
            Assert.True(JsonNode.DeepEquals(instead, actual), $"{path}: expected {instead.ToJsonString()}, got {actual!.ToJsonString()}");
            return;
        }
        Assert.True(sample!.GetValueKind() == actual!.GetValueKind(), $"{path}: sample is {sample.GetValueKind()}, answer {actual.GetValueKind()}: {actual.ToJsonString()}");
        switch (sample)
        {
            case JsonObject sampleObject:
                var answerObject = actual.AsObject();
                Assert.True(sampleObject.Select(m => m.Key).SequenceEqual(answerObject.Select(m => m.Key)),
                    $"{path}: members [{string.Join(", ", sampleObject.Select(m => m.Key))}] in the sample, [{string.Join(", ", answerObject.Select(m => m.Key))}] in the answer");
                foreach (var (name, value) in sampleObject)
                {
                    var at = $"{path}.{name}";
                    if (name is "pk" or "extRefNo" && !expected.ContainsKey(at))
                    {
                        Assert.Equal(JsonValueKind.String, answerObject[name]!.GetValueKind());
                        ids[at] = answerObject[name]!.GetValue<string>();
                        continue;
                    }
                    Compare(value, answerObject[name], at, expected, ids);
                }
                break;
            case JsonArray sampleArray:
                var answerArray = actual.AsArray();
                Assert.True(sampleArray.Count == answerArray.Count, $"{path}: {sampleArray.Count} items in the sample, {answerArray.Count} in the answer");
                for (var i = 0; i < sampleArray.Count; i++) Compare(sampleArray[i], answerArray[i], $"{path}[{i}]", expected, ids);
                break;
            default:
                Assert.True(JsonNode.DeepEquals(sample, actual), $"{path}: {sample.ToJsonString()} in the sample, {actual.ToJsonString()} in the answer");
                break;
        }
    }

    static bool Exists(JsonNode node, string path)
    {
        JsonNode? at = node;
        foreach (var step in path[1..].Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = step.Split('[')[0];
            at = at is JsonObject o ? o[name] : null;
            foreach (var index in step.Split('[').Skip(1)) at = at is JsonArray a && int.Parse(index.TrimEnd(']')) is var i && i < a.Count ? a[i] : null;
            if (at is null) return false;
        }
        return true;
    }

    /// <summary>A JSON string value, for <see cref="AssertMatches"/>'s expected values.</summary>
    public static JsonNode Text(string value) => JsonValue.Create(value);
}
