using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// A real browser for page tests: Debian's Chromium driven by Playwright through <c>ExecutablePath</c>, so no browser
/// is ever downloaded. Headless, a fresh profile per launch, no background traffic.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    /// <summary>Where Chromium is; CONSENTHUB_CHROMIUM overrides it. scripts/test.sh installs it when missing.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CONSENTHUB_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    static readonly string[] Args =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    readonly IPlaywright playwright;
    readonly string profile;

    public IBrowserContext Context { get; }

    Browser(IPlaywright playwright, IBrowserContext context, string profile)
    {
        this.playwright = playwright;
        Context = context;
        this.profile = profile;
    }

    public static async Task<Browser> LaunchAsync(int width = 1280, int height = 900)
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException(
                $"Chromium is not installed at {ExecutablePath}. Run ./scripts/test.sh (it installs chromium) or 'apt-get install chromium'; " +
                "set CONSENTHUB_CHROMIUM to use another binary. The tests never download a browser.");

        // The driver must never fetch a browser of its own.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("consenthub-chromium-").FullName;
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new()
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Args,
                ViewportSize = new() { Width = width, Height = height },
                Locale = "en-GB",
            });
            return new Browser(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    public async Task<IPage> NewPageAsync(int? width = null, int? height = null)
    {
        var page = await Context.NewPageAsync();
        if (width is not null) await page.SetViewportSizeAsync(width.Value, height ?? 800);
        return page;
    }

    /// <summary>Fills the sign-in form on the page (the console's or the DPO pages') and sends it, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string username, string password)
    {
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Saves a full-page PNG under test-results/screenshots/ at the repository root and returns its path.</summary>
    public static async Task<string> SaveScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(RepositoryRoot() ?? AppContext.BaseDirectory, "test-results", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name.EndsWith(".png", StringComparison.Ordinal) ? name : name + ".png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        return path;
    }

    /// <summary>
    /// The directory holding ConsentHub.slnx. Build output may live outside the repository (--artifacts-path), so the
    /// current directory and this source file's compile-time location are tried as well.
    /// </summary>
    public static string? RepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory(), Path.GetDirectoryName(sourceFile) })
        {
            for (var directory = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); directory is not null; directory = directory.Parent)
                if (File.Exists(Path.Combine(directory.FullName, "ConsentHub.slnx"))) return directory.FullName;
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        playwright.Dispose();
        try { Directory.Delete(profile, recursive: true); }
        catch (IOException) { } // Chromium may still be flushing its profile; it is a temp directory.
    }
}
