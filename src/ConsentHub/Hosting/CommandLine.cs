using System.CommandLine;
using System.CommandLine.Help;

namespace ConsentHub.Hosting;

/// <summary>
/// What the command-line verbs (<c>ledger</c>, <c>upload</c>) share: System.CommandLine for <c>--help</c>, typed options
/// and usage errors; exit code 2 for every usage, file or connection error, never a stack trace; and relative paths
/// resolved against the directory the user typed the command in.
/// </summary>
public static class CommandLine
{
    /// <summary>A mistake in how the command was called or what it was pointed at: printed, exit code 2.</summary>
    public sealed class UsageException(string message) : Exception(message);

    public const int UsageError = 2;

    /// <summary>
    /// The directory the user ran the command from. <c>dotnet run</c> starts a web project in its project directory
    /// (src/ConsentHub), so there the process's working directory is not the user's; the shell's <c>PWD</c>, which the
    /// child inherits unchanged, still is. It is used only in that case: when the process sits in a project directory
    /// and PWD names another existing directory. Anywhere else (the published app, a service) the working directory counts.
    /// </summary>
    public static string UserDirectory
    {
        get
        {
            var current = Environment.CurrentDirectory;
            var shell = Environment.GetEnvironmentVariable("PWD");
            var inProjectDirectory = File.Exists(Path.Combine(current, "ConsentHub.csproj"));
            return inProjectDirectory && shell is { Length: > 0 } && Path.IsPathFullyQualified(shell) && Directory.Exists(shell) ? shell : current;
        }
    }

    /// <summary>A path as the user meant it: absolute as given, relative to <see cref="UserDirectory"/> otherwise.</summary>
    public static string ResolvePath(string path) => Path.GetFullPath(path, UserDirectory);

    /// <summary>An existing file named by an option, or a usage error naming the option and the full path looked at.</summary>
    public static string ExistingFile(string option, string path)
    {
        var full = ResolvePath(path);
        return File.Exists(full) ? full : throw new UsageException($"{option}: no such file: {full}");
    }

    /// <summary>An option whose value must be an absolute http(s) URL.</summary>
    public static Option<string> UrlOption(string description, bool required = false)
    {
        var option = new Option<string>("--url") { Description = description, Required = required, HelpName = "URL" };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is not null && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
                result.AddError($"--url must be an absolute http:// or https:// URL, not '{value}'.");
        });
        return option;
    }

    /// <summary>
    /// Parses and runs <paramref name="root"/>. A parse error prints the errors and a pointer to <c>--help</c>; the
    /// errors a user can cause (usage, missing files, an unreachable hub) print one line; each exits with 2.
    /// </summary>
    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        var parsed = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            foreach (var problem in parsed.Errors) await error.WriteLineAsync(problem.Message);
            await error.WriteLineAsync("Add --help for usage.");
            return UsageError;
        }
        try
        {
            return await parsed.InvokeAsync(configuration, ct);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync(e.Message);
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"cannot reach the hub: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync(e.Message);
        }
        return UsageError;
    }
}
