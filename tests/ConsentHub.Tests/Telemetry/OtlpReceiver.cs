using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConsentHub.Tests.Telemetry;

/// <summary>
/// A real OTLP/HTTP receiver on 127.0.0.1 (Kestrel), as an OpenTelemetry collector listens: it keeps the protobuf body of
/// every export to <c>/v1/traces</c> and <c>/v1/metrics</c> and answers 200.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    readonly WebApplication web;
    readonly ConcurrentQueue<(string Path, byte[] Body)> exports = new();

    OtlpReceiver(WebApplication web, int port) => (this.web, Port) = (web, port);

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<byte[]> Traces => [.. exports.Where(e => e.Path == "/v1/traces").Select(e => e.Body)];
    public IReadOnlyList<byte[]> Metrics => [.. exports.Where(e => e.Path == "/v1/metrics").Select(e => e.Body)];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = Infrastructure.HubApp.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{port}");
        var web = builder.Build();
        var receiver = new OtlpReceiver(web, port);
        web.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            receiver.exports.Enqueue((context.Request.Path, body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
            return Results.Ok();
        });
        await web.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await web.StopAsync();
        await web.DisposeAsync();
    }
}
