using ConsentHub.Subscriptions;
using ConsentHub;
using ConsentHub.Admin;
using ConsentHub.Auth;
using ConsentHub.Bulk;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Extracts;
using ConsentHub.Hosting;
using ConsentHub.Inbound;
using ConsentHub.Outbound;
using ConsentHub.Ledger;
using ConsentHub.OperatorConsole;
using ConsentHub.OptIn;
using ConsentHub.OptOut;
using ConsentHub.Preferences;
using ConsentHub.Propagation;
using ConsentHub.Reminders;
using ConsentHub.Rights;
using ConsentHub.SqlAccess;
using ConsentHub.Telemetry;
using ConsentHub.Tenancy;
using ConsentHub.Validation;

var builder = WebApplication.CreateBuilder(args);
// The default address, unless one is configured: ASPNETCORE_URLS, Urls, --urls (an appsettings entry would override ASPNETCORE_URLS).
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
    builder.WebHost.UseUrls("http://localhost:5080");

builder.Services.AddHosting();
builder.Services.AddConsentData();
builder.Services.AddHubAuth();
builder.Services.AddLedger();
builder.Services.AddConsents();
builder.Services.AddClusters();
builder.Services.AddChangeLog();
builder.Services.AddValidation();
builder.Services.AddPropagation();
builder.Services.AddBulk();
builder.Services.AddOperatorConsole();
builder.Services.AddUploads();
builder.Services.AddRights();
builder.Services.AddOptOut();
builder.Services.AddOptIn();
builder.Services.AddInbound();
builder.Services.AddSqlAccess();
builder.Services.AddReplicas();
builder.Services.AddChangeDataCapture();
builder.Services.AddExtracts();
builder.Services.AddReminders();
builder.Services.AddPreferences();
builder.Services.AddTelemetry(builder.Configuration);
builder.Services.AddQueryTokenRedaction();

var app = builder.Build();

if (LedgerCommand.Matches(args)) return await LedgerCommand.RunAsync(app.Services, args);
if (SqlAccessCommand.Matches(args)) return await SqlAccessCommand.RunAsync(app.Services, args, Console.Out, Console.Error);
if (UploadCommand.Matches(args)) return await UploadCommand.RunAsync(args, Console.Out, Console.Error, showProgress: !Console.IsErrorRedirected);

// Schema, token keys and the first admin exist before the first request is served.
await app.Services.MigrateConsentDbAsync();
await app.Services.PrepareAsync();

app.UseHosting();
app.UsePublicAddress();
// Before authentication: OpenIddict answers the token endpoint from there.
app.UseRateLimiter();
app.UseHubAuthentication();
app.UseAuthorization();

app.MapHosting();
app.MapAuth();
app.MapAdmin();
app.MapSubscriptionData();
app.MapClusters();
app.MapLedger();
app.MapValidationPages();
app.MapValidationAdmin();
app.MapDestinations();
app.MapPropagations();
app.MapBulk();
app.MapOperatorConsole();
app.MapUploads();
app.MapRights();
app.MapOptOut();
app.MapOptIn();
app.MapEvents();
app.MapSqlAccess();
app.MapReplicas();
app.MapChangeDataCapture();
app.MapExtracts();
app.MapExtractPages();
app.MapReminders();
app.MapReminderPages();
app.MapPreferencePages();
app.MapTelemetry();

await app.RunAsync();
return 0;

/// <summary>Exposed for the integration tests' WebApplicationFactory.</summary>
public partial class Program;
