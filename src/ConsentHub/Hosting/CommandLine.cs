namespace ConsentHub.Hosting;

/// <summary>What the command-line verbs (<c>ledger</c>, <c>upload</c>) share: <c>--name value</c> options and usage errors.</summary>
public static class CommandLine
{
    /// <summary>A mistake in how the command was called: printed with the usage, exit code 2.</summary>
    public sealed class UsageException(string message) : Exception(message);

    public static Dictionary<string, string> ParseOptions(IEnumerable<string> args, string usage)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= list.Count)
                throw new UsageException($"unexpected argument '{list[i]}'.\n{usage}");
            options[list[i][2..]] = list[++i];
        }
        return options;
    }

    public static string Required(Dictionary<string, string> options, string name, string usage) =>
        options.TryGetValue(name, out var value) ? value : throw new UsageException($"--{name} is required.\n{usage}");
}
