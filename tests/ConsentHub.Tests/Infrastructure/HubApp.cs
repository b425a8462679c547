using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConsentHub.Tests.Infrastructure;

public sealed record SourceSystemCredentials(long Id, string Context, string Nmsc, string Name, string Username, string Password, string ClientId, string ClientSecret);

/// <summary>
/// ConsentHub in-process on a database of its own (a SQLite file in a temp directory, or a fresh PostgreSQL
/// database), with intent methods for the tests. Several apps may share one database to act as instances.
/// </summary>
public sealed class HubApp : WebApplicationFactory<Program>
{
    public const string AdminPassword = "admin-password-for-tests";
    public const string AdminClientId = "admin-client";
    public const string AdminClientSecret = "admin-client-secret-for-tests";

    static readonly ConcurrentDictionary<DatabaseProvider, Lazy<Task<HubApp>>> SharedApps = new();

    readonly Dictionary<string, string?> settings;
    bool ownsDatabase;
    readonly Action<IServiceCollection>? services;

    public DatabaseProvider Provider { get; }
    public string DataDirectory { get; }
    public string ConnectionString { get; }
    public LogCapture Logs { get; } = new();

    HubApp(DatabaseProvider provider, string dataDirectory, string connectionString, bool ownsDatabase, Dictionary<string, string?> extra,
        Action<IServiceCollection>? services = null, int? kestrelPort = null)
    {
        this.services = services;
        if (kestrelPort is { } port) UseKestrel(port);
        Provider = provider;
        DataDirectory = dataDirectory;
        ConnectionString = connectionString;
        this.ownsDatabase = ownsDatabase;
        settings = new Dictionary<string, string?>
        {
            ["ConsentHub:DataDirectory"] = dataDirectory,
            ["ConsentHub:Database:Provider"] = provider.ToString(),
            ["ConnectionStrings:ConsentHub"] = connectionString,
            ["ConsentHub:Bootstrap:AdminPassword"] = AdminPassword,
            ["ConsentHub:Bootstrap:ClientId"] = AdminClientId,
            ["ConsentHub:Bootstrap:ClientSecret"] = AdminClientSecret,
            ["Logging:Console:FormatterName"] = "simple",
            // Every test request comes from one address; the rate limit has its own tests.
            ["ConsentHub:Tokens:RateLimitPermits"] = "1000000",
        };
        foreach (var (key, value) in extra) settings[key] = value;
    }

    /// <summary>One app per provider shared by the tests that only add their own organisations and customers.</summary>
    public static Task<HubApp> SharedAsync(DatabaseProvider provider) =>
        SharedApps.GetOrAdd(provider, p => new Lazy<Task<HubApp>>(() => StartAsync(p))).Value;

    /// <summary>An app on a fresh database of its own: for tests that tamper with storage or count globally.</summary>
    /// <param name="services">Replaces services, e.g. the TimeProvider with a FakeTimeProvider.</param>
    /// <param name="kestrelPort">Serve on a real socket at 127.0.0.1:port (for a browser) instead of the in-memory test server.</param>
    /// <param name="freshCertificate">
    /// Let the app generate its key ring certificate on first start, as a new installation does. Otherwise its data
    /// directory gets a copy of one certificate made once per test run: a 3072-bit RSA key costs about a second of
    /// CPU, and the suite starts some two hundred apps.
    /// </param>
    public static async Task<HubApp> StartAsync(DatabaseProvider provider, Dictionary<string, string?>? extra = null,
        Action<IServiceCollection>? services = null, int? kestrelPort = null, bool freshCertificate = false)
    {
        var directory = Directory.CreateTempSubdirectory("consenthub-test-").FullName;
        if (!freshCertificate && extra?.ContainsKey(CertificatePathSetting) != true)
        {
            var path = Path.Combine(directory, KeyRingOptions.DefaultFileName);
            await File.WriteAllBytesAsync(path, SharedCertificate.Value);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        string connection;
        if (provider == DatabaseProvider.Postgres)
        {
            if (ProvidersAttribute.PostgresAdminConnection is null) throw new Xunit.Sdk.XunitException(ProvidersAttribute.PostgresMissing);
            var name = "consenthub_test_" + Guid.NewGuid().ToString("N")[..16];
            await using (var admin = new NpgsqlConnection(ProvidersAttribute.PostgresAdminConnection))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
                await create.ExecuteNonQueryAsync();
            }
            connection = new NpgsqlConnectionStringBuilder(ProvidersAttribute.PostgresAdminConnection) { Database = name, MaxPoolSize = 50 }.ConnectionString;
        }
        else
        {
            connection = $"Data Source={Path.Combine(directory, "consenthub.db")}";
        }
        var app = new HubApp(provider, directory, connection, ownsDatabase: true, extra ?? [], services, kestrelPort);
        app.StartServer();
        await Task.CompletedTask;
        return app;
    }

    /// <summary>
    /// An app with every log category at Trace (appsettings.json quietens some; each is opened up here), for tests that
    /// prove a secret reaches no log line. Fails if the configuration names a category this does not open.
    /// </summary>
    public static async Task<HubApp> StartTracingEverythingAsync(DatabaseProvider provider)
    {
        var app = await StartAsync(provider, new()
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Trace",
            ["Logging:LogLevel:OpenIddict"] = "Trace",
            ["Logging:LogLevel:System"] = "Trace",
        });
        var levels = app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>().GetSection("Logging:LogLevel").GetChildren().ToList();
        Assert.All(levels, level => Assert.True(level.Value == "Trace", $"Logging:LogLevel:{level.Key} is {level.Value}: add it to StartTracingEverythingAsync."));
        return app;
    }

    const string CertificatePathSetting = "ConsentHub:DataProtection:CertificatePath";

    /// <summary>The key ring certificate the apps of this test run share (PKCS#12 without a password), made as the hub makes one.</summary>
    static readonly Lazy<byte[]> SharedCertificate = new(() =>
    {
        using var rsa = System.Security.Cryptography.RSA.Create(3072);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=ConsentHub key ring (tests)", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
            System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyEncipherment, critical: true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        return certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12);
    });

    /// <summary>For <see cref="StartAsync"/> and <see cref="SecondInstance"/>: adds the tests' own API-key route, <see cref="ApiKeyProbe"/>.</summary>
    public static readonly Action<IServiceCollection> WithApiKeyProbe = s => s.AddTransient<IStartupFilter, ApiKeyProbe>();

    /// <summary>A second instance on this app's database, as a scaled-out deployment would run.</summary>
    /// <param name="services">Replaces services of the second instance too, e.g. the same FakeTimeProvider as the first.</param>
    public HubApp SecondInstance(Dictionary<string, string?>? extra = null, Action<IServiceCollection>? services = null)
    {
        // Instances on one database share the key ring, so they need the certificate that encrypts it.
        var shared = new Dictionary<string, string?> { [CertificatePathSetting] = Path.Combine(DataDirectory, KeyRingOptions.DefaultFileName) };
        foreach (var (key, value) in extra ?? []) shared[key] = value;
        var app = new HubApp(Provider, Directory.CreateTempSubdirectory("consenthub-test-").FullName, ConnectionString, ownsDatabase: false, shared, services);
        app.StartServer();
        return app;
    }

    /// <summary>
    /// Stops this app and starts a new one on the same database and data directory with the same settings, as a
    /// restarted process would: nothing held in memory survives, only what the database and the directory keep. The new
    /// app owns the database from then on; this one must not be used again.
    /// </summary>
    public async Task<HubApp> RestartAsync()
    {
        var next = new HubApp(Provider, DataDirectory, ConnectionString, ownsDatabase, settings, services);
        ownsDatabase = false;
        await DisposeAsync();
        next.StartServer();
        return next;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        // Logs go to the capture only: tests assert on them, and the console stays readable in CI.
        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
        if (services is not null) builder.ConfigureTestServices(services);
    }

    /// <summary>A free TCP port on 127.0.0.1 (for a Kestrel-served app whose own address must be known before it starts).</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public IServiceScope Scope() => Services.CreateScope();

    public ConsentDb Db(IServiceScope scope) => scope.ServiceProvider.GetRequiredService<ConsentDb>();

    // ---- intent methods -------------------------------------------------------------------------

    public async Task<HttpClient> AdminAsync()
    {
        var token = await TokenAsync(AdminClientId, AdminClientSecret, new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = AdminPassword });
        return WithToken(token);
    }

    public HttpClient WithToken(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<string> TokenAsync(string clientId, string clientSecret, Dictionary<string, string> form)
    {
        var response = await PostTokenAsync(clientId, clientSecret, form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token request failed: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["access_token"]!.GetValue<string>();
    }

    public async Task<HttpResponseMessage> PostTokenAsync(string clientId, string clientSecret, Dictionary<string, string> form)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{clientSecret}")));
        return await client.SendAsync(request);
    }

    /// <summary>Creates the organisation and context when missing and registers a source system in them.</summary>
    public async Task<SourceSystemCredentials> RegisterSourceSystemAsync(string nmsc, string context, string name)
    {
        using var admin = await AdminAsync();
        (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).EnsureSuccessStatusCode();
        (await admin.PutAsync($"/admin/contexts/{context}", null)).EnsureSuccessStatusCode();
        var response = await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc, name });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body);
        return JsonSerializer.Deserialize<SourceSystemCredentials>(body, JsonSerializerOptions.Web)!;
    }

    /// <summary>An HttpClient carrying a client_credentials token of the source system.</summary>
    public async Task<HttpClient> AsAsync(SourceSystemCredentials system) =>
        WithToken(await TokenAsync(system.ClientId, system.ClientSecret, new() { ["grant_type"] = "client_credentials" }));

    public static string ApiKeysPath(string context, string nmsc, string sourceSystem) =>
        $"/contexts/{context}/nmscs/{nmsc}/source-systems/{Uri.EscapeDataString(sourceSystem)}/api-keys";

    /// <summary>Has the admin issue an API key to the source system (asserting 201) and returns the key, shown this once.</summary>
    public async Task<string> IssueApiKeyAsync(string context, string nmsc, string sourceSystem, string label = "test")
    {
        using var admin = await AdminAsync();
        var response = await admin.PostAsJsonAsync(ApiKeysPath(context, nmsc, sourceSystem), new { label });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"issuing an API key: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["key"]!.GetValue<string>();
    }

    public Task<string> IssueApiKeyAsync(SourceSystemCredentials system, string label = "test") =>
        IssueApiKeyAsync(system.Context, system.Nmsc, system.Name, label);

    /// <summary>An HttpClient that sends <paramref name="key"/> in the api-key header (seed 002).</summary>
    public HttpClient WithApiKey(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("api-key", key);
        return client;
    }

    public static string SubscriptionDataPath(SourceSystemCredentials system, string customerId) =>
        $"/contexts/{system.Context}/nmscs/{system.Nmsc}/source-systems/{Uri.EscapeDataString(system.Name)}/customers/{Uri.EscapeDataString(customerId)}/subscription-data";

    public static Task<HttpResponseMessage> SubmitAsync(HttpClient client, SourceSystemCredentials system, string customerId, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, SubscriptionDataPath(system, customerId))
        {
            Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request);
    }

    /// <summary>Submits a validated change and fails the test unless it was applied (201): its answer.</summary>
    public static Task<JsonObject> AppliedAsync(HttpClient client, SourceSystemCredentials system, string customerId, object body) =>
        ExpectAsync(SubmitAsync(client, system, customerId, body), System.Net.HttpStatusCode.Created, $"{system.Name}/{customerId}");

    /// <summary>Submits an unvalidated change and fails the test unless it was accepted to await validation (202): its answer.</summary>
    public static Task<JsonObject> PendingAsync(HttpClient client, SourceSystemCredentials system, string customerId, object body) =>
        ExpectAsync(SubmitAsync(client, system, customerId, body), System.Net.HttpStatusCode.Accepted, $"{system.Name}/{customerId}");

    static async Task<JsonObject> ExpectAsync(Task<HttpResponseMessage> sending, System.Net.HttpStatusCode expected, string what)
    {
        using var response = await sending;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"submitting to {what}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>A short unique name, so that tests sharing an app never share an organisation.</summary>
    /// <summary>
    /// On PostgreSQL, waits (15 s at most) until the instance hears change notices and so keeps what rarely changes in
    /// memory (ConsentHub.Data.ChangeNotices): a test of what is kept must not pass because nothing was. No-op on SQLite.
    /// </summary>
    public async Task NoticesHeardAsync()
    {
        if (Provider != DatabaseProvider.Postgres) return;
        var notices = Services.GetRequiredService<ChangeNotices>();
        if (!await Poll.UntilAsync(() => Task.FromResult(notices.Live), live => live, TimeSpan.FromSeconds(15)))
            throw new Xunit.Sdk.XunitException("the instance never heard its probe notice");
    }

    /// <summary>
    /// GETs <paramref name="path"/> until the answer is 401 or 5 s have passed, and returns the last answer. Another
    /// instance refuses a token whose holder was deactivated, rotated or removed once PostgreSQL's notice of the change
    /// reaches it, moments after the change was answered.
    /// </summary>
    public static Task<HttpResponseMessage> GetUntilUnauthorisedAsync(HttpClient client, string path) =>
        Poll.UntilAsync(() => client.GetAsync(path), a => a.StatusCode == System.Net.HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5));

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (!ownsDatabase) return;
        if (Provider == DatabaseProvider.Postgres)
        {
            NpgsqlConnection.ClearAllPools();
            var name = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
            await using var admin = new NpgsqlConnection(ProvidersAttribute.PostgresAdminConnection);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        else
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
