using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ConsentHub.Tests.Outbound;

/// <summary>
/// The tests' RabbitMQ node: scripts/test.sh starts a private one and exports CONSENTHUB_TEST_RABBITMQ (an amqp URI) and
/// CONSENTHUB_TEST_RABBITMQ_ENV (the file of variables rabbitmqctl needs to reach that node).
/// </summary>
public static class CdcBroker
{
    public static string? Uri => Environment.GetEnvironmentVariable("CONSENTHUB_TEST_RABBITMQ") is { Length: > 0 } uri ? uri : null;

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The broker's URI; fails the test with the reason when it is missing (under CI the test is not skipped).</summary>
    public static string Required => Uri ?? throw new Xunit.Sdk.XunitException(
        "CONSENTHUB_TEST_RABBITMQ is not set: change data capture tests need a RabbitMQ node; run ./scripts/test.sh, which starts a private one.");

    /// <summary>Hub settings for an instance publishing to the test broker quickly.</summary>
    public static Dictionary<string, string?> Settings(string? uri = null) => new()
    {
        ["ConsentHub:Broker:Uri"] = uri ?? Required,
        ["ConsentHub:Broker:PollMilliseconds"] = "100",
        ["ConsentHub:Broker:MaxBackoffSeconds"] = "1",
        ["ConsentHub:Broker:ConfirmTimeoutSeconds"] = "5",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Validation:PublicBaseUrl"] = "https://hub.example.com",
    };

    /// <summary>Runs rabbitmqctl against the test node (stop_app, start_app, …) and asserts it succeeded.</summary>
    public static async Task ControlAsync(params string[] arguments)
    {
        var envFile = Environment.GetEnvironmentVariable("CONSENTHUB_TEST_RABBITMQ_ENV")
            ?? throw new Xunit.Sdk.XunitException("CONSENTHUB_TEST_RABBITMQ_ENV is not set: scripts/test.sh names the node's variables there.");
        var start = new ProcessStartInfo("/usr/lib/rabbitmq/bin/rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-q");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var line in await File.ReadAllLinesAsync(envFile))
        {
            var equals = line.IndexOf('=');
            if (equals > 0) start.Environment[line[..equals]] = line[(equals + 1)..];
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output} {await error}");
    }
}

/// <summary>A theory over the providers that needs the broker: skipped without one, except under CI, where it fails saying why.</summary>
public sealed class BrokerTheoryAttribute : Infrastructure.ProviderTheoryAttribute
{
    public BrokerTheoryAttribute()
    {
        if (CdcBroker.Uri is null && !CdcBroker.InCi) Skip = "CONSENTHUB_TEST_RABBITMQ is not set; run ./scripts/test.sh";
    }
}

/// <summary>A test on PostgreSQL only (several instances on one database) that needs the broker.</summary>
public sealed class BrokerPostgresFactAttribute : FactAttribute
{
    public BrokerPostgresFactAttribute()
    {
        if (Infrastructure.ProvidersAttribute.PostgresAdminConnection is null && !CdcBroker.InCi) Skip = Infrastructure.ProvidersAttribute.PostgresMissing;
        else if (CdcBroker.Uri is null && !CdcBroker.InCi) Skip = "CONSENTHUB_TEST_RABBITMQ is not set; run ./scripts/test.sh";
    }
}

/// <summary>
/// Every test that publishes to the broker: one at a time, since one of them stops the node for a while. Tests of other
/// collections run beside them: none of them uses the broker.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BrokerCollection
{
    public const string Name = "RabbitMQ";
}

/// <summary>A data team's consumer: its own queue bound to the exchange (every routing key, or one pattern), read into a list.</summary>
public sealed class CdcConsumer : IAsyncDisposable
{
    readonly IConnection connection;
    readonly IChannel channel;
    string queue = "";
    readonly ConcurrentQueue<(JsonObject Event, IReadOnlyBasicProperties Properties, string RoutingKey)> received = new();

    CdcConsumer(IConnection connection, IChannel channel)
    {
        this.connection = connection;
        this.channel = channel;
    }

    public static async Task<CdcConsumer> StartAsync(string exchange, string bindingKey = "#")
    {
        var factory = new ConnectionFactory { Uri = new System.Uri(CdcBroker.Required), AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500) };
        var connection = await factory.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        // The hub declares the exchange when the subscription is saved; declaring it alike here is harmless and lets the
        // queue be bound before.
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        var queue = (await channel.QueueDeclareAsync("cdc-test-" + Guid.NewGuid().ToString("N")[..12], durable: true, exclusive: false, autoDelete: false)).QueueName;
        await channel.QueueBindAsync(queue, exchange, bindingKey);
        var consumer = new CdcConsumer(connection, channel) { queue = queue };
        var basic = new AsyncEventingBasicConsumer(channel);
        basic.ReceivedAsync += (_, delivery) =>
        {
            var body = JsonNode.Parse(Encoding.UTF8.GetString(delivery.Body.Span))!.AsObject();
            consumer.received.Enqueue((body, delivery.BasicProperties, delivery.RoutingKey));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, basic);
        return consumer;
    }

    public IReadOnlyList<JsonObject> Events => [.. received.Select(r => r.Event)];

    public IReadOnlyList<(JsonObject Event, IReadOnlyBasicProperties Properties, string RoutingKey)> Deliveries => [.. received];

    /// <summary>Waits until at least <paramref name="count"/> events arrived; returns them in arrival order.</summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (received.Count < count)
        {
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"{received.Count} events arrived, {count} expected: {string.Join(" | ", Events.Select(e => e.ToJsonString()))}");
            await Task.Delay(20);
        }
        return Events;
    }

    public async ValueTask DisposeAsync()
    {
        try { await channel.QueueDeleteAsync(queue); } catch (Exception) { /* the node may be down in a failed test */ }
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }
}
