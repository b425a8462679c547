using System.Threading.Channels;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace ConsentHub.Preferences;

/// <summary>The preference centre's link at the foot of the hub's validation, reminder and notification emails.</summary>
sealed class PreferenceCentreLinks(
    BlindIndex blindIndex, PreferenceTokens tokens, TimeProvider time, IOptions<PreferenceOptions> options, IOptions<PublicAddressOptions> publicAddress)
    : IPreferenceCentreLinks
{
    public PreferenceCentreLink? For(string address, string? language)
    {
        if (!options.Value.Enabled || blindIndex.Email(address) is not { } key) return null;
        var texts = PreferenceTexts.For(language);
        var token = tokens.Link(key, texts.Language, PreferenceLinkKind.Email, time.Now().AddDays(options.Value.EmailLinkDays));
        return new PreferenceCentreLink(PreferencePages.LinkUrl(publicAddress.Value, token), texts.FooterLink);
    }
}

/// <summary>An address typed into the page, waiting for <see cref="PreferenceLinkMailer"/>.</summary>
sealed record LinkRequest(string Address, string Language);

/// <summary>
/// Sends the links people ask for on the page. The page only queues the address and answers at once, the same whether
/// the hub knows it or not; this worker looks it up and emails a link only when some record carries it, so neither the
/// answer nor its timing tells a stranger whether an address is known. A queued request lives in memory: a person whose
/// link never comes asks again, as the page says.
/// </summary>
sealed class PreferenceLinkMailer(
    IServiceScopeFactory scopes, BlindIndex blindIndex, PreferenceTokens tokens, MailSender mail, TimeProvider time, IMemoryCache sent,
    IOptions<PreferenceOptions> options, IOptions<PublicAddressOptions> publicAddress, ILogger<PreferenceLinkMailer> logger) : BackgroundService
{
    const int Capacity = 1000;

    readonly Channel<LinkRequest> queue = Channel.CreateBounded<LinkRequest>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true,
    });

    /// <summary>Queues a request; false when the queue is full (the request is dropped, and the page answers alike).</summary>
    public bool Queue(LinkRequest request) => queue.Writer.TryWrite(request);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await SendAsync(request, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "A preference-centre link could not be sent");
            }
        }
    }

    /// <summary>How many requests this instance has handled (sent, or passed over), for tests that wait for the queue.</summary>
    public long Handled => Interlocked.Read(ref handled);
    long handled;

    async Task SendAsync(LinkRequest request, CancellationToken ct)
    {
        try
        {
            if (blindIndex.Email(request.Address) is not { } key || !WithinLimit(key)) return;
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
            var contexts = await db.Customers.AsNoTracking().Where(c => c.EmailKey == key).Select(c => c.Context).Distinct().Take(2).ToListAsync(ct);
            if (contexts.Count == 0) return;
            var texts = PreferenceTexts.For(request.Language);
            var minutes = options.Value.LinkMinutes;
            var token = tokens.Link(key, texts.Language, PreferenceLinkKind.Requested, time.Now().AddMinutes(minutes));
            // One brand knows the address: its colours and name. Several: the hub's own, naming none of them.
            var branding = contexts.Count == 1 ? await ValidationContent.BrandingAsync(db, contexts[0], ct) : Branding.Default(texts.Title);
            var words = DefaultTexts.For(texts.Language) with
            {
                Subject = texts.MailSubject, Heading = texts.Title, Intro = texts.WithMinutes(texts.MailIntro, minutes), ConfirmLabel = texts.MailButton,
                IgnoreNote = texts.MailIgnore,
            };
            var message = EmailRenderer.Render(request.Address, branding, words, [], PreferencePages.LinkUrl(publicAddress.Value, token), reminder: false);
            if (await mail.SendAsync(message, ct) is not SendResult.Sent)
                logger.LogWarning("A preference-centre link was not sent; the person can ask again");
        }
        finally
        {
            Interlocked.Increment(ref handled);
        }
    }

    /// <summary>At most <see cref="PreferenceOptions.LinksPerAddressPerHour"/> links to one address in this instance's last hour.</summary>
    bool WithinLimit(string key)
    {
        var now = time.GetUtcNow();
        var times = sent.GetOrCreate($"preference-links:{key}", entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1);
            return new Queue<DateTimeOffset>();
        })!;
        lock (times)
        {
            while (times.Count > 0 && times.Peek() <= now.AddHours(-1)) times.Dequeue();
            if (times.Count >= options.Value.LinksPerAddressPerHour) return false;
            times.Enqueue(now);
            return true;
        }
    }
}
