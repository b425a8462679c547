using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Auth;

/// <summary>
/// Lock-out of OAuth clients at <c>POST /oauth/token</c>. OpenIddict checks the client secret before the hub's
/// endpoint runs, so the lock is enforced just before that check and the outcome counted when the answer is written.
/// </summary>
static class ClientLockouts
{
    const string RefusedAsLocked = "consenthub:client-locked";

    /// <summary>A locked client is refused whatever secret it sends, in the words (and the time) of a wrong secret.</summary>
    public static async ValueTask RefuseLockedClientAsync(OpenIddictServerEvents.ProcessAuthenticationContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || string.IsNullOrEmpty(context.ClientId)) return;
        var http = context.Transaction.GetHttpRequest()!.HttpContext;
        if (!await http.RequestServices.GetRequiredService<PasswordSignIn>().IsClientLockedAsync(context.ClientId, http.RequestAborted)) return;
        PasswordSignIn.SpendOneHash(context.ClientSecret);
        context.Transaction.Properties[RefusedAsLocked] = true;
        context.Reject(Errors.InvalidClient, "The specified client credentials are invalid.");
    }

    /// <summary>A failed client authentication of a registered client counts; a successful token request clears the count.</summary>
    public static async ValueTask CountOutcomeAsync(OpenIddictServerEvents.ApplyTokenResponseContext context)
    {
        if (context.Request?.ClientId is not { Length: > 0 and <= 100 } clientId || clientId.Any(char.IsControl)) return;
        if (context.Transaction.Properties.ContainsKey(RefusedAsLocked)) return;
        var http = context.Transaction.GetHttpRequest()!.HttpContext;
        var signIn = http.RequestServices.GetRequiredService<PasswordSignIn>();
        if (context.Error is null)
        {
            await signIn.ResetClientAsync(clientId, http.RequestAborted);
        }
        else if (context.Error == Errors.InvalidClient
                 && await http.RequestServices.GetRequiredService<IOpenIddictApplicationManager>().FindByClientIdAsync(clientId, http.RequestAborted) is not null)
        {
            await signIn.RecordClientFailureAsync(clientId, http.RequestAborted);
        }
    }
}
