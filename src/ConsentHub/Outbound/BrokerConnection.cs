using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace ConsentHub.Outbound;

/// <summary>The broker could not be reached or refused the work; <see cref="Exception.Message"/> holds no password.</summary>
public sealed class BrokerUnavailable(string message) : Exception(message);

/// <summary>The exchange exists on the broker with another type or other flags than a durable topic exchange.</summary>
public sealed class ExchangeMismatch(string message) : Exception(message);

/// <summary>
/// The instance's one long-lived connection to the broker. Opened on first use and opened again after it was lost (the
/// client's own recovery is off: the publisher resends from its cursor, so nothing is owed to a recovered channel).
/// An outage is logged once when it starts and once when it ends, not at every attempt.
/// </summary>
public sealed class BrokerConnection(IOptions<BrokerOptions> options, ILogger<BrokerConnection> logger) : IAsyncDisposable
{
    readonly SemaphoreSlim opening = new(1, 1);
    IConnection? connection;
    bool down;

    public bool Configured => options.Value.Configured;

    /// <summary>The open connection, opening it if needed.</summary>
    public async Task<IConnection> ConnectionAsync(CancellationToken ct)
    {
        if (connection is { IsOpen: true } open) return open;
        if (!Configured) throw new BrokerUnavailable($"No broker is configured ({BrokerOptions.UriKey}).");
        await opening.WaitAsync(ct);
        try
        {
            if (connection is { IsOpen: true } again) return again;
            if (connection is not null)
            {
                try { await connection.DisposeAsync(); } catch (Exception) { /* already broken */ }
                connection = null;
            }
            var factory = new ConnectionFactory
            {
                Uri = new Uri(options.Value.Uri!),
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                ContinuationTimeout = TimeSpan.FromSeconds(10),
                ClientProvidedName = "consenthub " + Environment.MachineName,
            };
            try
            {
                connection = await factory.CreateConnectionAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var failure = Failure("Connecting to the broker", e);
                if (!down)
                {
                    down = true;
                    logger.LogWarning("The broker cannot be reached: {Error}; change data capture waits and retries", failure.Message);
                }
                throw failure;
            }
            if (down)
            {
                down = false;
                logger.LogInformation("The broker is reachable again; change data capture resumes from its cursors");
            }
            return connection;
        }
        finally
        {
            opening.Release();
        }
    }

    /// <summary>Records that the connection failed in use (the next <see cref="ConnectionAsync"/> opens a new one).</summary>
    public void Lost(Exception e)
    {
        if (down) return;
        down = true;
        logger.LogWarning("The broker connection was lost: {Error}; change data capture waits and retries", Redact(e.Message));
    }

    /// <summary>Declares a durable topic exchange (idempotent for one that exists alike).</summary>
    public async Task DeclareExchangeAsync(string exchange, CancellationToken ct)
    {
        var open = await ConnectionAsync(ct);
        try
        {
            await using var channel = await open.CreateChannelAsync(cancellationToken: ct);
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            // PRECONDITION_FAILED: the name is taken by an exchange of another kind; the broker answered, it is not down.
            throw new ExchangeMismatch($"The exchange '{exchange}' exists on the broker with another type or other flags: {Redact(e.ShutdownReason.ReplyText)}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw Failure($"Declaring the exchange '{exchange}'", e);
        }
    }

    public BrokerUnavailable Failure(string doing, Exception e) =>
        new($"{doing} failed: {Redact(e.Message)}");

    public string Redact(string text) => options.Value.Redact(text);

    public async ValueTask DisposeAsync()
    {
        if (connection is not null)
        {
            try { await connection.CloseAsync(); } catch (Exception) { /* going away anyway */ }
            await connection.DisposeAsync();
        }
        opening.Dispose();
    }
}
