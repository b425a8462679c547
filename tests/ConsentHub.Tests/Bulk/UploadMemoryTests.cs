using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Bulk;

/// <summary>
/// The memory tests (trait Category=Memory), one at a time and alone, so that no other test's allocations count as
/// theirs. scripts/test.sh runs them in a process of their own beside the rest of the suite.
/// </summary>
[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;

[Collection(nameof(MemoryCollection))]
[Trait("Category", "Memory")]
public sealed class UploadMemoryTests
{
    const int Records = 1_000;
    const int PaddingBytes = 256 * 1024;
    const long BodyBytes = (long)Records * PaddingBytes;

    [ProviderTheory, Providers]
    public async Task An_upload_far_larger_than_the_servers_request_limit_is_streamed_without_holding_the_file(DatabaseProvider provider)
    {
        // Kestrel, whose default request limit (30 MB) the route lifts; the hub runs in this process, so its heap is ours.
        // Memory held per batch (its records, their rows and ledger entries in the change tracker) is proportional to the
        // batch size, not the file: a smaller batch keeps that part well below the bound, which is about the file.
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Upload:BatchSize"] = "250" }, kestrelPort: HubApp.FreePort());
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await Uploads.StreamingClientAsync(app, system);
        // A small upload first, so that what the server builds once (query plans, caches) is not counted as growth.
        await Uploads.PostAsync(client, system, Uploads.AsArray([Uploads.Envelope(system, "warm-up", Seed.Consent("OFFERS", true))]));
        await using var heap = HeapSampler.Start();
        var content = new Generated(system);
        var (_, job) = await Uploads.PostAsync(client, system, content);
        var growth = await heap.StopAsync();

        Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
        Assert.Equal((Records, Records), (Uploads.Count(job, "read"), Uploads.Count(job, "applied")));
        Assert.Equal(content.Written, Uploads.Count(job, "bytes"));
        Assert.True(content.Written > BodyBytes);
        Assert.True(growth < BodyBytes / 8, $"live heap grew by {growth / (1024 * 1024)} MB during a {content.Written / (1024 * 1024)} MB upload");
    }

    /// <summary>A JSON array of records, each padded with an unknown member, made as it is sent: never whole in memory.</summary>
    sealed class Generated : HttpContent
    {
        readonly SourceSystemCredentials system;
        readonly byte[] padding = Encoding.UTF8.GetBytes(new string('p', PaddingBytes));

        public long Written { get; private set; }

        public Generated(SourceSystemCredentials system)
        {
            this.system = system;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await WriteAsync(stream, "["u8.ToArray());
            for (var i = 1; i <= Records; i++)
            {
                var record = Uploads.Envelope(system, $"big-{i}", Seed.Consent("OFFERS", i % 2 == 0)).ToJsonString();
                await WriteAsync(stream, Encoding.UTF8.GetBytes((i > 1 ? ",\n" : "\n") + record[..^1] + ",\"padding\":\""));
                await WriteAsync(stream, padding);
                await WriteAsync(stream, "\"}"u8.ToArray());
            }
            await WriteAsync(stream, "\n]\n"u8.ToArray());
        }

        async Task WriteAsync(Stream stream, byte[] bytes)
        {
            await stream.WriteAsync(bytes);
            Written += bytes.Length;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
