using System.Net;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Propagation;

/// <summary>
/// Which systems have a destination is kept in memory on PostgreSQL (<see cref="PushedSystems"/>): a destination
/// registered on one instance is pushed to at once by that instance and moments later by every other one.
/// </summary>
public sealed class PushedSystemsTests
{
    [ProviderTheory, Providers]
    public async Task A_destination_registered_on_one_instance_is_pushed_to_at_once_there_and_moments_later_on_another(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        await using var second = app.SecondInstance();
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var here = await app.AsAsync(crm);
        using var there = second.WithToken(here.DefaultRequestHeaders.Authorization!.Parameter!);
        await app.NoticesHeardAsync();
        await second.NoticesHeardAsync();
        var changes = new Changes(app, crm);

        // Without a destination both instances leave the system's messages in its feed (and keep that it has none).
        Assert.Equal(PropagationStates.Feed, await changes.StateOfNextAsync(here, "c1"));
        Assert.Equal(PropagationStates.Feed, await changes.StateOfNextAsync(there, "c2"));

        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);

        // The instance that registered it pushes at once; the other once the notice has reached it.
        Assert.NotEqual(PropagationStates.Feed, await changes.StateOfNextAsync(here, "c1"));
        var there2 = await Poll.UntilAsync(() => changes.StateOfNextAsync(there, "c2"), s => s != PropagationStates.Feed, TimeSpan.FromSeconds(5));
        Assert.NotEqual(PropagationStates.Feed, there2);
    }

    /// <summary>Changes that each propagate something (the flag alternates, the time moves on), and their message's state.</summary>
    sealed class Changes(HubApp app, SourceSystemCredentials system)
    {
        int sent;

        public async Task<string> StateOfNextAsync(HttpClient client, string customer)
        {
            var n = Interlocked.Increment(ref sent);
            var at = new DateTime(2024, 5, 1, 10, 0, 0, DateTimeKind.Utc).AddSeconds(n).ToString("yyyy-MM-ddTHH:mm:ssZ");
            var response = await HubApp.SubmitAsync(client, system, customer, Seed.Consent("OFFERS", n % 2 == 0, at));
            var body = await Json.ReadAsync(response);
            Assert.True(HttpStatusCode.Created == response.StatusCode, $"{(int)response.StatusCode} {body}");
            var id = Guid.Parse(body["id"]!.GetValue<string>());
            using var scope = app.Scope();
            return (await app.Db(scope).Propagations.AsNoTracking().SingleAsync(p => p.ChangeRequestId == id)).State;
        }
    }
}
