using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Consents;

/// <summary>What a sealed row holds, and so what its <see cref="SealedPersonalData.Reference"/> names.</summary>
public static class PersonalDataKinds
{
    /// <summary>A customer record's current email and phone; the reference is the customer id.</summary>
    public const string Contact = "contact";
    /// <summary>The email and phone a change request carried; the reference is the change request id.</summary>
    public const string ChangeRequest = "change-request";
    /// <summary>The first answer to an idempotent POST, replayed to its retries; the reference is the change request id.</summary>
    public const string Response = "response";
    /// <summary>The raw body of an inbound event (seed 001) that became a change request; the reference is the change request id.</summary>
    public const string InboundEvent = "inbound-event";
}

/// <summary>
/// Personal data, encrypted with the key of the customer record it belongs to (<see cref="PersonKey"/>). The rest of
/// the database holds pseudonymous ids, blind indexes and commitments; destroying the record's key makes every row
/// here unreadable while the ledger and its proofs stay as they were.
/// </summary>
public sealed class SealedPersonalData
{
    public long Id { get; set; }
    public long CustomerId { get; set; }
    public required string Kind { get; set; }
    public required string Reference { get; set; }
    /// <summary>Format byte, 12-byte nonce, 16-byte tag, then the AES-256-GCM ciphertext.</summary>
    public required byte[] Sealed { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class SealedPersonalDataConfiguration : IEntityTypeConfiguration<SealedPersonalData>
{
    public void Configure(EntityTypeBuilder<SealedPersonalData> b)
    {
        b.ToTable("personal_data");
        b.HasIndex(p => new { p.Kind, p.Reference }).IsUnique();
        b.HasIndex(p => p.CustomerId);
        b.Property(p => p.Kind).HasMaxLength(32);
        b.Property(p => p.Reference).HasMaxLength(64);
    }
}

/// <summary>A customer record's contact details: the personal data matching and validation need.</summary>
public sealed record Contact(string? Email, string? Phone)
{
    public bool IsEmpty => Email is null && Phone is null;
}

/// <summary>Seals personal data under its record's key and opens it again, one row or a batch at a time.</summary>
public sealed class PersonalDataVault(ConsentDb db, PersonKeys keys, TimeProvider time)
{
    const byte Format = 1;
    const int NonceSize = 12;
    const int TagSize = 16;
    static readonly byte[] KeyInfo = "ConsentHub personal data v1"u8.ToArray();
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Stores <paramref name="plaintext"/> under (kind, reference), staged on the context. With <paramref name="isNew"/>
    /// the reference is known to be fresh (a new change request) and no row is looked for; otherwise one is replaced.
    /// A caller that holds the record's <paramref name="key"/> already passes it.
    /// </summary>
    public async Task SealAsync(long customerId, string kind, string reference, byte[] plaintext, CancellationToken ct, bool isNew = false, byte[]? key = null)
    {
        key ??= await keys.ForAsync(customerId, ct);
        var row = isNew ? null
            : db.Staged<SealedPersonalData>().FirstOrDefault(p => p.Kind == kind && p.Reference == reference)
                ?? await db.PersonalData.SingleOrDefaultAsync(p => p.Kind == kind && p.Reference == reference, ct);
        var sealedBytes = Seal(key, customerId, kind, reference, plaintext);
        if (row is null)
        {
            db.Insert(new SealedPersonalData
            {
                CustomerId = customerId, Kind = kind, Reference = reference, Sealed = sealedBytes, UpdatedAt = Hosting.HubTime.Now(time),
            });
        }
        else
        {
            row.Sealed = sealedBytes;
            row.UpdatedAt = Hosting.HubTime.Now(time);
        }
    }

    public Task SealJsonAsync<T>(long customerId, string kind, string reference, T value, CancellationToken ct, bool isNew = false, byte[]? key = null) =>
        SealAsync(customerId, kind, reference, JsonSerializer.SerializeToUtf8Bytes(value, Json), ct, isNew, key);

    /// <summary>
    /// The plaintexts of the rows of one kind with these references. A reference with no row, or whose record's key
    /// is gone (erased), is absent from the answer.
    /// </summary>
    public async Task<Dictionary<string, byte[]>> OpenAsync(string kind, IReadOnlyCollection<string> references, CancellationToken ct)
    {
        var opened = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (references.Count == 0) return opened;
        // Rows staged in this unit of work first: a change reads back what it has just sealed.
        var wanted = references.ToHashSet(StringComparer.Ordinal);
        var rows = db.Staged<SealedPersonalData>().Where(p => p.Kind == kind && wanted.Contains(p.Reference)).ToList();
        var missing = wanted.Except(rows.Select(r => r.Reference)).ToList();
        foreach (var chunk in missing.Chunk(500))
            rows.AddRange(await db.PersonalData.AsNoTracking().Where(p => p.Kind == kind && chunk.Contains(p.Reference)).ToListAsync(ct));
        var recordKeys = await keys.ExistingAsync(rows.Select(r => r.CustomerId).Distinct().ToList(), ct);
        foreach (var row in rows)
        {
            if (!recordKeys.TryGetValue(row.CustomerId, out var key)) continue;
            opened[row.Reference] = Open(key, row);
        }
        return opened;
    }

    public async Task<Dictionary<string, T>> OpenAsync<T>(string kind, IReadOnlyCollection<string> references, CancellationToken ct)
    {
        var opened = await OpenAsync(kind, references, ct);
        return opened.ToDictionary(p => p.Key, p => JsonSerializer.Deserialize<T>(p.Value, Json)!, StringComparer.Ordinal);
    }

    /// <summary>The current contact details of these records; records without any are absent.</summary>
    public async Task<Dictionary<long, Contact>> ContactsAsync(IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var opened = await OpenAsync<Contact>(PersonalDataKinds.Contact, customerIds.Select(Reference).ToList(), ct);
        return opened.ToDictionary(p => long.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), p => p.Value);
    }

    public async Task<Contact?> ContactAsync(long customerId, CancellationToken ct) =>
        (await ContactsAsync([customerId], ct)).GetValueOrDefault(customerId);

    /// <summary>A record's contact row, read by the caller, opened with the key of its record.</summary>
    public static Contact OpenContact(SealedPersonalData row, byte[] personKey) =>
        JsonSerializer.Deserialize<Contact>(Open(personKey, row), Json)!;

    /// <summary>
    /// A record's contact from the sealed bytes of its row and its stored key, read by the caller in one query (the consent
    /// read, the export, extracts); null when either is missing (no contact, or an erased record). Every writer seals a
    /// record's contact under the record itself, and the sealed bytes are bound to it: a row sealed otherwise fails to open.
    /// </summary>
    public static Contact? OpenContact(long customerId, byte[]? sealedContact, string? protectedKey, PersonKeys keys) =>
        sealedContact is null || protectedKey is null ? null : OpenContact(new SealedPersonalData
        {
            CustomerId = customerId, Kind = PersonalDataKinds.Contact, Reference = Reference(customerId), Sealed = sealedContact,
        }, keys.Open(customerId, protectedKey));

    public Task SetContactAsync(long customerId, Contact contact, CancellationToken ct) =>
        SealJsonAsync(customerId, PersonalDataKinds.Contact, Reference(customerId), contact, ct);

    /// <summary>
    /// Stores a change request's data: the email and phone it carries are sealed under its record's key, the rest is
    /// returned as the JSON to keep in <see cref="ChangeRequest.Data"/>.
    /// </summary>
    public async Task<string> SealRequestAsync(long customerId, Guid requestId, SubscriptionData data, CancellationToken ct, byte[]? key = null)
    {
        var (rest, contact) = Split(data);
        if (contact is not null)
            await SealJsonAsync(customerId, PersonalDataKinds.ChangeRequest, Reference(requestId), contact, ct, isNew: true, key);
        return JsonSerializer.Serialize(rest, SubscriptionChanges.StoredJson);
    }

    /// <summary>The requests' data as they were sent, their email and phone joined back (left out where erased).</summary>
    public async Task<Dictionary<Guid, SubscriptionData>> RequestDataAsync(IReadOnlyCollection<ChangeRequest> requests, CancellationToken ct)
    {
        var contacts = await OpenAsync<Contact>(PersonalDataKinds.ChangeRequest, requests.Select(r => Reference(r.Id)).ToList(), ct);
        return requests.ToDictionary(r => r.Id, r => Join(
            JsonSerializer.Deserialize<SubscriptionData>(r.Data, SubscriptionChanges.StoredJson)!, contacts.GetValueOrDefault(Reference(r.Id))));
    }

    public async Task<SubscriptionData> RequestDataAsync(ChangeRequest request, CancellationToken ct) =>
        (await RequestDataAsync([request], ct))[request.Id];

    /// <summary>The contact details a change request carried, if any are still readable.</summary>
    public async Task<Contact?> RequestContactAsync(ChangeRequest request, CancellationToken ct) =>
        (await OpenAsync<Contact>(PersonalDataKinds.ChangeRequest, [Reference(request.Id)], ct)).GetValueOrDefault(Reference(request.Id));

    /// <summary>The data without its email and phone, and those two (null when it carries neither).</summary>
    public static (SubscriptionData Remainder, Contact? Contact) Split(SubscriptionData data)
    {
        var attributes = data.Consent?.CommunicationAttributes;
        if (attributes is null || (attributes.Email is null && attributes.Phone is null)) return (data, null);
        var rest = data with { Consent = data.Consent! with { CommunicationAttributes = attributes with { Email = null, Phone = null } } };
        return (rest, new Contact(attributes.Email, attributes.Phone));
    }

    static SubscriptionData Join(SubscriptionData rest, Contact? contact) =>
        contact is null || rest.Consent?.CommunicationAttributes is not { } attributes
            ? rest
            : rest with { Consent = rest.Consent with { CommunicationAttributes = attributes with { Email = contact.Email, Phone = contact.Phone } } };

    public static string Reference(long customerId) => customerId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Reference(Guid id) => id.ToString("N");

    static byte[] Seal(byte[] personKey, long customerId, string kind, string reference, byte[] plaintext)
    {
        var output = new byte[1 + NonceSize + TagSize + plaintext.Length];
        output[0] = Format;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(EncryptionKey(personKey), TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize + TagSize), output.AsSpan(1 + NonceSize, TagSize),
            AssociatedData(customerId, kind, reference));
        return output;
    }

    static byte[] Open(byte[] personKey, SealedPersonalData row)
    {
        var input = row.Sealed;
        if (input.Length < 1 + NonceSize + TagSize || input[0] != Format)
            throw new CryptographicException($"Personal data {row.Kind} {row.Reference} of customer {row.CustomerId} has an unknown format.");
        var plaintext = new byte[input.Length - 1 - NonceSize - TagSize];
        using var aes = new AesGcm(EncryptionKey(personKey), TagSize);
        // The associated data binds the ciphertext to its row: moved to another record or reference, it fails to open.
        aes.Decrypt(input.AsSpan(1, NonceSize), input.AsSpan(1 + NonceSize + TagSize), input.AsSpan(1 + NonceSize, TagSize), plaintext,
            AssociatedData(row.CustomerId, row.Kind, row.Reference));
        return plaintext;
    }

    /// <summary>
    /// The record key also keys HMAC commitments; encryption uses a key derived from it for that purpose alone: HKDF-Expand
    /// (RFC 5869 §2.3) with SHA-256 to 32 bytes, which is the single block HMAC(key, info ‖ 0x01). Computed as that HMAC,
    /// since the platform's HKDF fetches its algorithm from OpenSSL on every call, on every seal and every open.
    /// </summary>
    internal static byte[] EncryptionKey(byte[] personKey) => HMACSHA256.HashData(personKey, KeyInfoBlock);

    static readonly byte[] KeyInfoBlock = [.. KeyInfo, 0x01];

    static byte[] AssociatedData(long customerId, string kind, string reference) =>
        Encoding.UTF8.GetBytes($"{customerId}\n{kind}\n{reference}");
}
