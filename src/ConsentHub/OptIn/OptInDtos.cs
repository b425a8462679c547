using System.Text.Json.Serialization;

namespace ConsentHub.OptIn;

// The published language of seed 003: its DTOs with their member names and order. Optional members are left out when
// they have no value, as in the seed's samples.

/// <summary>One consent record of a contact (one opt-in type).</summary>
public sealed record OptInInfoDTO(
    string Pk,
    string Type,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Approval,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ExtRefNo);

/// <summary>The contact a read concerns.</summary>
public sealed record OptInPropertiesDTO(string ContactId, string Pk, bool AdBlocked);

/// <summary>The consent records of a contact or of a flow.</summary>
public sealed record OptInOverviewDTO(IReadOnlyList<OptInInfoDTO> OptIns, OptInPropertiesDTO Properties);

/// <summary>How an operation ended: the seed's words and code.</summary>
public sealed record OptInResultDTO(string Status, int Code);

/// <summary>What a creation or change of consent data did.</summary>
public sealed record OptInDTO(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ExtRefNo,
    IReadOnlyList<OptInInfoDTO> OptIns,
    OptInResultDTO Result);

/// <summary>One item of a request body: <c>{ "type", "approval", "status"? }</c>.</summary>
public sealed record OptInItemInput
{
    public string? Type { get; init; }
    public string? Approval { get; init; }
    public string? Status { get; init; }
}
