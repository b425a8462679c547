using ConsentHub.Data;

namespace ConsentHub.Bulk;

/// <summary>
/// A section another feature adds to the DPO's landing page (suppression files, extracts, data subject rights). Each
/// feature registers its own; the page lists them in <see cref="Order"/> without naming them.
/// </summary>
public interface IDpoLandingSection
{
    /// <summary>Where the section goes among the others, smallest first.</summary>
    int Order { get; }

    /// <summary>The section's HTML (one <c>&lt;section&gt;</c>) for the organisations the DPO covers.</summary>
    Task<string> HtmlAsync(ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct);
}
