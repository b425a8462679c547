using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Preferences;

/// <summary><c>ConsentHub:Preferences</c>: the preference centre at <c>/preferences</c>.</summary>
public sealed class PreferenceOptions
{
    public const string Section = "ConsentHub:Preferences";

    /// <summary>Serve the pages and put a link to them at the foot of the hub's emails.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a link a person asks for on the page works (it opens the centre once).</summary>
    [Range(5, 1440)]
    public int LinkMinutes { get; set; } = 60;

    /// <summary>How long the link at the foot of a validation, reminder or notification email works (any number of times).</summary>
    [Range(1, 365)]
    public int EmailLinkDays { get; set; } = 30;

    /// <summary>How long the page stays open after a link was opened, before another link is needed.</summary>
    [Range(5, 720)]
    public int SessionMinutes { get; set; } = 30;

    /// <summary>Links sent to one address per hour on request, per instance; more requests are answered alike and send nothing.</summary>
    [Range(1, 100)]
    public int LinksPerAddressPerHour { get; set; } = 3;

    /// <summary>Link requests accepted from one client address per hour, per instance; more get 429.</summary>
    [Range(1, 10000)]
    public int RequestsPerClientPerHour { get; set; } = 30;
}
