using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>axe-core run in the page as it is now, against the WCAG 2.2 A and AA rules.</summary>
public static class Accessibility
{
    static readonly AxeRunOptions Wcag22 = new()
    {
        RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"] },
    };

    /// <summary>axe-core finds no WCAG 2.2 A or AA violation on the page as it is now.</summary>
    public static async Task NoViolationsAsync(IPage page)
    {
        var result = await page.RunAxe(Wcag22);
        Assert.True(result.Violations.Length == 0, string.Join("\n", result.Violations.Select(v =>
            $"{v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
        // axe ran its rules: a page it could not read would pass vacuously.
        Assert.NotEmpty(result.Passes);
    }
}
