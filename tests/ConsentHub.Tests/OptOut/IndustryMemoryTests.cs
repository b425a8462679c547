using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ConsentHub.Tests.OptOut;

/// <summary>Alone (the bulk upload's memory collection), so that no other test's allocations count as the import's.</summary>
[Collection(nameof(MemoryCollection))]
[Trait("Category", "Memory")]
public sealed class IndustryMemoryTests
{
    const int LongLines = 64;
    const int LongLineBytes = 2 * 1024 * 1024;
    const long BodyBytes = (long)LongLines * LongLineBytes;

    [ProviderTheory, Providers]
    public async Task A_list_far_larger_than_the_servers_request_limit_is_read_as_it_arrives_without_holding_it(DatabaseProvider provider)
    {
        // Kestrel, whose default request limit (30 MB) the route lifts; the hub runs in this process, so its heap is ours.
        await using var app = await HubApp.StartAsync(provider, kestrelPort: HubApp.FreePort());
        var token = await app.TokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword });
        // Without redirects: the factory's redirect handler buffers a request body to be able to send it again.
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = app.ClientOptions.BaseAddress });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        client.Timeout = TimeSpan.FromMinutes(5);
        // A small import first, so that what the server builds once (query plans, caches) is not counted as growth.
        var warmUp = await client.PostAsync("/admin/industry-opt-outs?provider=warm-up",
            new StringContent($"email,{Secrets.Sha256Hex("warm-up")}\n", Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, warmUp.StatusCode);
        await using var heap = HeapSampler.Start();
        var content = new Generated();
        var response = await client.PostAsync("/admin/industry-opt-outs?provider=big", content);
        var growth = await heap.StopAsync();

        var answer = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
        // Each oversized line is skipped as it streams past, never buffered; the good line between each pair is kept.
        Assert.Equal(2 * LongLines, answer["read"]!.GetValue<long>());
        Assert.Equal(LongLines, answer["added"]!.GetValue<long>());
        Assert.Equal(LongLines, answer["rejected"]!.GetValue<long>());
        Assert.Equal(content.Written, answer["bytes"]!.GetValue<long>());
        Assert.True(content.Written > BodyBytes);
        Assert.True(growth < BodyBytes / 8, $"live heap grew by {growth / (1024 * 1024)} MB during a {content.Written / (1024 * 1024)} MB import");
    }

    /// <summary>Pairs of a 2 MB line and a good line, made as they are sent: never whole in memory.</summary>
    sealed class Generated : HttpContent
    {
        readonly byte[] longLine = Encoding.ASCII.GetBytes("email," + new string('a', LongLineBytes) + "\n");

        public long Written { get; private set; }

        public Generated() => Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < LongLines; i++)
            {
                await WriteAsync(stream, longLine);
                await WriteAsync(stream, Encoding.ASCII.GetBytes($"phone,{Secrets.Sha256Hex($"memory-{i}")}\n"));
            }
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
