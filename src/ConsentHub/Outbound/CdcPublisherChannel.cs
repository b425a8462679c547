using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ConsentHub.Outbound;

/// <summary>What publishing a page came to: how many of its messages, from the first, the broker confirmed; why not all.</summary>
public sealed record CdcPublishResult(int Confirmed, string? Error);

/// <summary>
/// The publisher's channel, in confirm mode: a page's messages are sent one after the other (the broker keeps their order
/// on the channel), then their confirms are awaited together. A nack, a timeout or a lost channel ends the page at its
/// first unconfirmed message; the channel is then replaced, so a retry starts on a clean one.
/// </summary>
public sealed class CdcPublisherChannel(BrokerConnection broker) : IAsyncDisposable
{
    readonly object gate = new();
    readonly SortedDictionary<ulong, TaskCompletionSource<bool>> pending = [];
    IChannel? channel;
    string? closedBecause;

    public async Task<CdcPublishResult> PublishAsync(string exchange, IReadOnlyList<CdcMessage> messages, TimeSpan timeout, CancellationToken ct)
    {
        var confirms = new List<Task<bool>>(messages.Count);
        string? error = null;
        try
        {
            var open = await OpenAsync(ct);
            foreach (var message in messages)
            {
                var sequence = await open.GetNextPublishSequenceNumberAsync(ct);
                var confirm = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (gate) pending[sequence] = confirm;
                confirms.Add(confirm.Task);
                var properties = new BasicProperties
                {
                    Persistent = true, ContentType = CdcEvents.ContentType, MessageId = message.Id,
                };
                await open.BasicPublishAsync(exchange, message.RoutingKey, mandatory: false, properties, message.Body, ct);
            }
        }
        catch (BrokerUnavailable e)
        {
            error = e.Message;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            broker.Lost(e);
            error = broker.Failure("Publishing to the broker", e).Message;
        }
        if (confirms.Count > 0)
        {
            try
            {
                await Task.WhenAll(confirms).WaitAsync(timeout, ct);
            }
            catch (TimeoutException)
            {
                error ??= $"The broker did not confirm the page's messages within {timeout.TotalSeconds:0} s (ConsentHub:Broker:ConfirmTimeoutSeconds).";
            }
        }
        var confirmed = 0;
        while (confirmed < confirms.Count && confirms[confirmed].IsCompletedSuccessfully && confirms[confirmed].Result) confirmed++;
        if (confirmed < messages.Count)
        {
            error ??= closedBecause is { } reason
                ? $"The broker closed the channel at the event {messages[confirmed].Id}: {broker.Redact(reason)}."
                : $"The broker refused (nack) the event {messages[confirmed].Id}.";
            await DropAsync();
        }
        return new CdcPublishResult(confirmed, error);
    }

    async Task<IChannel> OpenAsync(CancellationToken ct)
    {
        if (channel is { IsOpen: true } open) return open;
        await DropAsync();
        closedBecause = null;
        var connection = await broker.ConnectionAsync(ct);
        IChannel created;
        try
        {
            created = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            broker.Lost(e);
            throw broker.Failure("Opening a channel on the broker", e);
        }
        created.BasicAcksAsync += (_, e) => Settle(e.DeliveryTag, e.Multiple, true);
        created.BasicNacksAsync += (_, e) => Settle(e.DeliveryTag, e.Multiple, false);
        created.ChannelShutdownAsync += (_, e) =>
        {
            // Why the broker closed it (e.g. NOT_FOUND when the exchange was deleted), for the status.
            if (e.Initiator != ShutdownInitiator.Application) closedBecause = $"{e.ReplyCode} {e.ReplyText}";
            return FailAll();
        };
        channel = created;
        return created;
    }

    Task Settle(ulong tag, bool multiple, bool acked)
    {
        lock (gate)
        {
            if (multiple)
            {
                while (pending.Count > 0 && pending.First() is var first && first.Key <= tag)
                {
                    pending.Remove(first.Key);
                    first.Value.TrySetResult(acked);
                }
            }
            else if (pending.Remove(tag, out var one))
            {
                one.TrySetResult(acked);
            }
        }
        return Task.CompletedTask;
    }

    Task FailAll()
    {
        lock (gate)
        {
            foreach (var confirm in pending.Values) confirm.TrySetResult(false);
            pending.Clear();
        }
        return Task.CompletedTask;
    }

    async Task DropAsync()
    {
        var old = channel;
        channel = null;
        await FailAll();
        if (old is null) return;
        try { await old.CloseAsync(); } catch (Exception) { /* broken already */ }
        try { await old.DisposeAsync(); } catch (Exception) { /* broken already */ }
    }

    public async ValueTask DisposeAsync() => await DropAsync();
}
