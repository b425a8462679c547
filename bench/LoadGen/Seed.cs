using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>
/// --mode seed: the customers the read benchmark reads. N records spread over several source systems of one
/// organisation, each system's share sent as one initial upload (the hub's bulk path), then every tenth record of the
/// first system put in a cluster with the same-numbered record of the second through the cluster feed, so that some
/// reads consolidate two records. Writes, for the shell, the first system's token and where its records are.
/// </summary>
sealed class SeedBench(HttpClient http, string adminToken, string context, string nmsc, Func<string, Task<string>> registerAsync)
{
    public async Task<int> RunAsync(int customers, string[] systems, string outFile)
    {
        var perSystem = customers / systems.Length;
        string? firstToken = null;
        foreach (var system in systems)
        {
            var token = system == systems[0] ? await registerAsync("") : await registerAsync(system);
            firstToken ??= token;
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/contexts/{context}/nmscs/{nmsc}/source-systems/{system}/uploads")
            {
                Content = new BulkBench.RecordsContent(perSystem, context, nmsc, system),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload {system}: {(int)response.StatusCode} {text}");
            var applied = JsonNode.Parse(text)!["applied"]!.GetValue<long>();
            Console.Error.WriteLine($"seeded {system}: {applied} records");
            if (applied != perSystem) throw new InvalidOperationException($"upload {system} applied {applied} of {perSystem}");
        }

        var clusters = 0;
        if (systems.Length > 1)
        {
            // The feed takes at most 10,000 lines a request.
            for (var from = 0; from < perSystem; from += 100_000)
            {
                var lines = new StringBuilder();
                for (var n = from; n < Math.Min(perSystem, from + 100_000); n += 10)
                {
                    lines.Append($$"""{"clusterId":"p{{n}}","members":[{"context":"{{context}}","sourceSystem":"{{systems[0]}}","sourceCustomerId":"c{{n}}"},{"context":"{{context}}","sourceSystem":"{{systems[1]}}","sourceCustomerId":"c{{n}}"}]}""").Append('\n');
                    clusters++;
                }
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/nmscs/{nmsc}/clusters:batch") { Content = new StringContent(lines.ToString(), Encoding.UTF8, "application/x-ndjson") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
                using var response = await http.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"clusters: {(int)response.StatusCode} {text}");
            }
            Console.Error.WriteLine($"clustered {clusters} pairs");
        }

        await File.WriteAllLinesAsync(outFile,
        [
            $"SEED_TOKEN={firstToken}",
            $"SEED_PREFIX=/contexts/{context}/nmscs/{nmsc}/source-systems/{systems[0]}/customers/c",
            $"SEED_PER_SYSTEM={perSystem}",
            $"SEED_NMSC={nmsc}",
            $"SEED_CLUSTERS={clusters}",
        ]);
        return 0;
    }
}
