using System.Diagnostics;

namespace ConsentHub.Hosting;

/// <summary>
/// The hub's own spans (issue 21 §3): each delivery of a PROPAGATED message, continuing the trace of the request that
/// applied its change. Span names and attributes name organisations, destinations and messages, never a person.
/// </summary>
public static class HubTracing
{
    public const string SourceName = "ConsentHub";

    /// <summary>One source for the process: a listener (the tracer provider of any hub in it) decides what is recorded.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// The W3C traceparent of the work in progress (the request that applies a change), to be kept with what it leaves
    /// for later (an outbox row); null outside a trace.
    /// </summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>What a request's span may not carry: a path holds customer ids and link tokens, the rest is the caller's.</summary>
    static readonly string[] PersonalTags = ["url.path", "url.query", "url.full", "user_agent.original", "client.address", "network.peer.address"];

    /// <summary>
    /// Takes from a request's span what could identify a person or open a link; its name and <c>http.route</c> keep the
    /// route's template.
    /// </summary>
    public static void KeepNoPersonalData(Activity span)
    {
        foreach (var tag in PersonalTags) span.SetTag(tag, null);
    }
}
