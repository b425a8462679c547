using ConsentHub.Tenancy;

namespace ConsentHub.Consents;

/// <summary>What a single submission and a batch of the initial upload both record for a change, so the two cannot drift apart.</summary>
static class ChangeRecording
{
    /// <summary>The payload of a "change-requested" entry: identifiers and a keyed commitment to the data, no personal data.</summary>
    public static object Requested(Guid changeRequestId, SourceSystem system, string sourceCustomerId, bool validated, string submittedBy, string dataCommitment) => new
    {
        changeRequestId,
        nmsc = system.Nmsc,
        context = system.Context,
        sourceSystem = system.Name,
        sourceCustomerId,
        validated,
        submittedBy,
        dataCommitment,
    };

    /// <summary>
    /// The payload of a "change-applied" entry: the codes and flags that became current. Reactions add their members
    /// after these (<see cref="IChangeReaction.Describe"/>): propagation the records (ids only) its PROPAGATED messages went to.
    /// </summary>
    public static Dictionary<string, object> Applied(Guid changeRequestId, NormalisedChange change) => new()
    {
        ["changeRequestId"] = changeRequestId,
        ["consents"] = change.Consents.Select(c => new { code = c.Code, flag = c.Flag }),
        ["channels"] = change.Channels.Select(c => new { code = c.Code, flag = c.Flag }),
    };

    /// <summary>
    /// Takes an applied change's communication attributes into its record: language and country, and the blind indexes
    /// of what it sent. Returns the record's contact as it now is, for the caller to seal.
    /// </summary>
    public static Contact TakeCommunication(Customer customer, CommunicationAttributes communication, Contact contact, BlindIndex blindIndex)
    {
        customer.Language = communication.Language ?? customer.Language;
        customer.Country = communication.Country ?? customer.Country;
        if (communication.Email is { } email)
        {
            contact = contact with { Email = email };
            customer.EmailKey = blindIndex.Email(email);
        }
        if (communication.Phone is { } phone)
        {
            // Read with the country sent beside it, as the rules did: a later country alone does not reinterpret it.
            contact = contact with { Phone = phone };
            customer.PhoneKey = blindIndex.Phone(phone, communication.Country);
        }
        return contact;
    }
}
