using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace ConsentHub.Tests.Validation;

/// <summary>MailKit, the real client, against the test SMTP listener over TCP; and the mail drop on disk.</summary>
public sealed class MailSenderTests : IAsyncLifetime
{
    const string Recipient = "anna.schmidt@example.com";
    // A line that is a lone dot would end the message early unless both sides stuff and unstuff dots.
    const string Text = "Please confirm: https://hub.test/validation/abc\n.\n.a line that starts with a dot\nThank you";
    const string Html = "<p>Please <a href=\"https://hub.test/validation/abc\">confirm</a>.</p>";

    readonly string dataDirectory = Directory.CreateTempSubdirectory("consenthub-mail-").FullName;
    // The Date header has whole seconds; the mail drop's file name has milliseconds.
    static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 30, 15, 123, TimeSpan.Zero);
    static readonly DateTimeOffset DateHeader = new(2026, 3, 1, 9, 30, 15, TimeSpan.Zero);

    readonly FakeTimeProvider time = new(Now);
    SmtpListener smtp = null!;

    public async Task InitializeAsync() => smtp = await SmtpListener.StartNewAsync();

    public async Task DisposeAsync()
    {
        await smtp.DisposeAsync();
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Mail_is_delivered_over_smtp_with_text_and_html_parts()
    {
        var result = await Sender().SendAsync(Mail(), CancellationToken.None);

        var sent = Assert.IsType<SendResult.Sent>(result);
        var received = await smtp.WaitForMessageAsync();
        Assert.Equal("consenthub@localhost", received.EnvelopeFrom);
        Assert.Equal([Recipient], received.Recipients);
        var message = received.Message;
        Assert.Equal(sent.MessageId, message.MessageId);
        Assert.Equal("Please confirm your choices", message.Subject);
        var from = Assert.Single(message.From.Mailboxes);
        Assert.Equal(("Toyota Great Britain", "consenthub@localhost"), (from.Name, from.Address));
        Assert.Equal(Recipient, Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal(DateHeader, message.Date);
        var alternative = Assert.IsType<MultipartAlternative>(message.Body);
        Assert.Equal(["text/plain", "text/html"], alternative.Select(part => part.ContentType.MimeType));
        Assert.Equal(Text, Normalise(message.TextBody));
        Assert.Equal(Html, Normalise(message.HtmlBody));
    }

    [Fact]
    public async Task Refused_recipient_is_permanent_with_the_smtp_status_and_no_address_in_the_error()
    {
        smtp.RefuseRecipientsWith(550, $"5.1.1 <{Recipient}>: Recipient address rejected");

        var failure = Assert.IsType<SendResult.Permanent>(await Sender().SendAsync(Mail(), CancellationToken.None));

        Assert.Equal(550, failure.SmtpStatus);
        Assert.DoesNotContain(Recipient, failure.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(smtp.Messages);
    }

    [Fact]
    public async Task Temporary_failure_after_data_is_transient()
    {
        smtp.FailDataWith(451);

        Assert.IsType<SendResult.Transient>(await Sender().SendAsync(Mail(), CancellationToken.None));
        Assert.Empty(smtp.Messages);
    }

    [Fact]
    public async Task Message_rejected_after_data_is_permanent()
    {
        smtp.FailDataWith(554);

        var failure = Assert.IsType<SendResult.Permanent>(await Sender().SendAsync(Mail(), CancellationToken.None));
        Assert.Equal(554, failure.SmtpStatus);
    }

    [Fact]
    public async Task Server_that_is_down_is_transient_and_delivery_works_once_it_is_back_on_the_same_port()
    {
        var port = smtp.Port;
        var sender = Sender();
        smtp.Stop();

        Assert.IsType<SendResult.Transient>(await sender.SendAsync(Mail(), CancellationToken.None));

        await smtp.StartAsync();
        Assert.Equal(port, smtp.Port);
        var sent = Assert.IsType<SendResult.Sent>(await sender.SendAsync(Mail(), CancellationToken.None));
        Assert.Equal(sent.MessageId, (await smtp.WaitForMessageAsync()).Message.MessageId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("anna")]
    [InlineData("anna@")]
    [InlineData("@example.com")]
    [InlineData("anna@example.com, bob@example.com")]
    [InlineData("anna@example.com\r\nBcc: bob@example.com")]
    public async Task Invalid_address_is_permanent_without_contacting_the_server(string address)
    {
        var failure = Assert.IsType<SendResult.Permanent>(await Sender().SendAsync(Mail(address), CancellationToken.None));

        Assert.Null(failure.SmtpStatus);
        Assert.StartsWith("invalid address", failure.Error);
        Assert.Equal(0, smtp.Connections);
    }

    [Fact]
    public async Task Authentication_failure_is_transient_and_logs_neither_password_nor_address()
    {
        var logs = new LogCapture();
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        // The listener offers no AUTH: the same configuration error as a wrong password, found before any mail moves.
        var sender = Sender(options => (options.User, options.Password) = ("hub", "s3cret-password"), factory.CreateLogger<MailSender>());

        Assert.IsType<SendResult.Transient>(await sender.SendAsync(Mail(), CancellationToken.None));

        Assert.Empty(smtp.Messages);
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, line => line.Contains("s3cret-password") || line.Contains(Recipient, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(logs.Lines, line => line.Contains(MailAddresses.Hash(Recipient)[..12]));
    }

    [Fact]
    public async Task Without_a_host_the_mail_is_written_to_the_mail_drop()
    {
        var sender = Sender(options => options.Host = null);

        var sent = Assert.IsType<SendResult.Sent>(await sender.SendAsync(Mail(), CancellationToken.None));

        var file = Assert.Single(Directory.GetFiles(Path.Combine(dataDirectory, "mail")));
        Assert.StartsWith("20260301T093015123-", Path.GetFileName(file));
        Assert.EndsWith(".eml", file);
        var entry = Assert.Single(MailDrop.List(dataDirectory));
        Assert.Equal((Path.GetFileName(file), Recipient, "Please confirm your choices", sent.MessageId, DateHeader),
            (entry.FileName, entry.To, entry.Subject, entry.MessageId, entry.Date));
        using var message = MimeMessage.Load(MailDrop.PathOf(dataDirectory, entry.FileName)!);
        Assert.Equal(Text, Normalise(message.TextBody));
        Assert.Equal(0, smtp.Connections);
    }

    [Fact]
    public async Task Mail_drop_lists_the_newest_first()
    {
        var sender = Sender(options => options.Host = null);
        await sender.SendAsync(Mail() with { Subject = "first" }, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        await sender.SendAsync(Mail() with { Subject = "second" }, CancellationToken.None);

        Assert.Equal(["second", "first"], MailDrop.List(dataDirectory).Select(entry => entry.Subject));
    }

    [Theory]
    [InlineData("../x.eml")]
    [InlineData("..\\x.eml")]
    [InlineData("a/b.eml")]
    [InlineData("x.txt")]
    [InlineData("")]
    public void Mail_drop_gives_no_path_outside_its_own_eml_files(string fileName)
    {
        // Every name points at a file that exists, so only the name rule can refuse it.
        var mail = Directory.CreateDirectory(Path.Combine(dataDirectory, "mail")).FullName;
        Directory.CreateDirectory(Path.Combine(mail, "a"));
        foreach (var path in new[] { Path.Combine(dataDirectory, "x.eml"), Path.Combine(mail, "a", "b.eml"), Path.Combine(mail, "x.txt"), Path.Combine(mail, "..\\x.eml") })
            File.WriteAllText(path, "Subject: planted\r\n\r\nbody\r\n");
        File.WriteAllText(Path.Combine(mail, "ok.eml"), "Subject: fine\r\n\r\nbody\r\n");

        Assert.Null(MailDrop.PathOf(dataDirectory, fileName));
        Assert.Equal(Path.Combine(mail, "ok.eml"), MailDrop.PathOf(dataDirectory, "ok.eml"));
    }

    [Theory]
    [InlineData("From", "not an address")]
    [InlineData("Port", "0")]
    [InlineData("TimeoutSeconds", "0")]
    [InlineData("Password", "a password but no user")]
    public void Bad_smtp_configuration_is_refused_at_start(string key, string value)
    {
        using var services = Services(new() { ["ConsentHub:Smtp:Host"] = "smtp.example.com", [$"ConsentHub:Smtp:{key}"] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<SmtpOptions>>().Value);
        Assert.DoesNotContain("a password but no user", error.Message);
    }

    [Fact]
    public void Smtp_configuration_binds_from_its_section()
    {
        using var services = Services(new()
        {
            ["ConsentHub:Smtp:Host"] = "smtp.example.com", ["ConsentHub:Smtp:Port"] = "465", ["ConsentHub:Smtp:TlsMode"] = "SslOnConnect",
            ["ConsentHub:Smtp:User"] = "hub", ["ConsentHub:Smtp:Password"] = "pw", ["ConsentHub:Smtp:From"] = "consent@example.com",
        });

        var options = services.GetRequiredService<IOptions<SmtpOptions>>().Value;
        Assert.Equal(("smtp.example.com", 465, SmtpTlsMode.SslOnConnect, "hub", "consent@example.com", 30),
            (options.Host, options.Port, options.TlsMode, options.User, options.From, options.TimeoutSeconds));
        Assert.NotNull(services.GetRequiredService<MailSender>());
    }

    static ServiceProvider Services(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .AddSingleton(Options.Create(new HubOptions()))
            .AddLogging()
            .AddMail()
            .BuildServiceProvider();

    MailSender Sender(Action<SmtpOptions>? configure = null, ILogger<MailSender>? logger = null)
    {
        var options = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, TimeoutSeconds = 5 };
        configure?.Invoke(options);
        return new MailSender(Options.Create(options), Options.Create(new HubOptions { DataDirectory = dataDirectory }), time,
            logger ?? NullLogger<MailSender>.Instance);
    }

    static OutgoingMail Mail(string to = Recipient) => new(to, "Toyota Great Britain", "Please confirm your choices", Html, Text);

    static string Normalise(string? body) => (body ?? "").ReplaceLineEndings("\n").TrimEnd('\n');
}
