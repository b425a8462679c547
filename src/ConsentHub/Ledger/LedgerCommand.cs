using ConsentHub.Data;

namespace ConsentHub.Ledger;

/// <summary><c>ConsentHub ledger verify</c>: checks the chain of the configured database and exits non-zero if it breaks.</summary>
public static class LedgerCommand
{
    public static bool Matches(string[] args) => args is ["ledger", ..];

    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        if (args is not ["ledger", "verify", ..])
        {
            await Console.Error.WriteLineAsync("usage: ConsentHub ledger verify");
            return 2;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var result = await LedgerVerifier.VerifyAsync(db, CancellationToken.None);
        if (result.Valid)
        {
            Console.WriteLine($"ledger valid: {result.Entries} entries verified");
            return 0;
        }
        Console.WriteLine($"ledger INVALID at index {result.FirstBadIndex}: {result.Reason} ({result.Entries} entries verified before it)");
        return 1;
    }
}
