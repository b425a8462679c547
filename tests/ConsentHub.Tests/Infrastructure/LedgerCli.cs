using ConsentHub.Ledger;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>The <c>ledger</c> verbs run in-process against an app, with what they print captured for the test to read.</summary>
public static class LedgerCli
{
    public sealed record Run(int Exit, string Output, string Error);

    public static async Task<Run> RunAsync(HubApp app, params string[] args)
    {
        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var exit = await LedgerCommand.RunAsync(app.Services, args, output, error, showProgress: false);
        return new Run(exit, output.ToString(), error.ToString());
    }
}
