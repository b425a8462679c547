using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Propagation;

public sealed class PropagationOptions
{
    public const string Section = "ConsentHub:Propagation";

    /// <summary>Allow http:// destinations on loopback addresses (tests, local development). HTTPS otherwise.</summary>
    public bool AllowInsecureLoopback { get; set; }

    /// <summary>How long the previous signing secret is still sent beside a rotated one.</summary>
    [Range(0, 24 * 30)]
    public int SecretOverlapHours { get; set; } = 24;
}
