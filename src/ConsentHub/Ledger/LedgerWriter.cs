using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace ConsentHub.Ledger;

/// <summary>
/// Appends entries inside the caller's transaction. <see cref="BeginAsync"/> opens the transaction and locks
/// the ledger head first, so indices are gapless and strictly ordered even with several hub instances on one
/// PostgreSQL database (on SQLite, Microsoft.Data.Sqlite begins non-deferred transactions with BEGIN IMMEDIATE,
/// which takes the write lock at once).
/// </summary>
public sealed class LedgerWriter(ConsentDb db, TimeProvider time)
{
    static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    LedgerHead? head;
    List<byte[]>? frontier;

    /// <summary>The locked head row (after <see cref="LockHeadAsync"/>).</summary>
    public LedgerHead Head => head ?? throw new InvalidOperationException("Lock the ledger head first.");

    /// <summary>Opens the transaction and takes the ledger lock at once.</summary>
    public async Task<IDbContextTransaction> BeginAsync(CancellationToken ct)
    {
        var transaction = await BeginUnlockedAsync(ct);
        await LockHeadAsync(ct);
        return transaction;
    }

    /// <summary>
    /// Opens the transaction without the ledger lock, for units of work that do their reads and row locks first
    /// and call <see cref="LockHeadAsync"/> just before appending, so that the lock every writer shares is held
    /// only for the last few statements.
    /// </summary>
    public async Task<IDbContextTransaction> BeginUnlockedAsync(CancellationToken ct)
    {
        head = null;
        frontier = null;
        return await db.Database.BeginTransactionAsync(ct);
    }

    public async Task LockHeadAsync(CancellationToken ct)
    {
        var current = await db.LedgerHeads.Where(h => h.Id == LedgerHead.SingletonId).AsNoTracking().ForUpdate(db).SingleAsync(ct);

        // A retried unit of work may still track the head read by an earlier attempt.
        foreach (var stale in db.ChangeTracker.Entries<LedgerHead>().ToList())
            stale.State = EntityState.Detached;
        db.LedgerHeads.Attach(current);
        head = current;
        frontier = null;
    }

    public LedgerEntry Append(string type, object payload)
    {
        if (head is null) throw new InvalidOperationException("Lock the ledger head (BeginAsync or LockHeadAsync) before appending.");
        var entry = new LedgerEntry
        {
            Index = head.NextIndex,
            Type = type,
            Timestamp = time.Now(),
            Payload = JsonSerializer.Serialize(payload, PayloadJson),
            PrevHash = head.LastHash,
            Hash = "",
        };
        var canonical = LedgerHash.Canonical(entry);
        entry.Hash = LedgerHash.Of(canonical);
        entry.LeafHash = Merkle.LeafHash(canonical);
        // The Merkle tree grows with the chain: the nodes this leaf completes, at most one per level.
        frontier ??= MerkleFrontier.Deserialize(head.Frontier);
        var grown = MerkleFrontier.Append(frontier, entry.Index, entry.LeafHash);
        frontier = grown.Frontier;
        foreach (var node in grown.Nodes)
            db.LedgerTreeNodes.Add(new LedgerTreeNode { Level = node.Level, Index = node.Index, Hash = node.Hash });
        head.Frontier = MerkleFrontier.Serialize(frontier);
        head.NextIndex++;
        head.LastHash = entry.Hash;
        db.LedgerEntries.Add(entry);
        return entry;
    }
}

/// <summary>The event types the ledger records.</summary>
public static class LedgerEvents
{
    public const string AdminBootstrapped = "admin-bootstrapped";
    public const string OrganisationRegistered = "organisation-registered";
    public const string OrganisationUpdated = "organisation-updated";
    public const string CategoriesConfigured = "categories-configured";
    /// <summary>An organisation's opt-in types (seed 003) were mapped to categories: the whole map.</summary>
    public const string OptInTypesConfigured = "opt-in-types-configured";
    public const string ContextRegistered = "context-registered";
    public const string ContextUpdated = "context-updated";
    public const string SourceSystemRegistered = "source-system-registered";
    /// <summary>Credential lifecycle: a system's tokens stop working when it is deactivated or its credentials rotate.</summary>
    public const string SourceSystemDeactivated = "source-system-deactivated";
    public const string SourceSystemReactivated = "source-system-reactivated";
    public const string SourceSystemPasswordRotated = "source-system-password-rotated";
    public const string SourceSystemClientSecretRotated = "source-system-client-secret-rotated";
    public const string OrganisationApiUserCreated = "organisation-api-user-created";
    public const string OrganisationApiUserDeleted = "organisation-api-user-deleted";
    public const string DestinationApiKeyRotated = "destination-api-key-rotated";
    /// <summary>An API key was issued to a source system, or revoked: its id, system and label, never the key or its hash.</summary>
    public const string ApiKeyIssued = "api-key-issued";
    public const string ApiKeyRevoked = "api-key-revoked";
    public const string ChangeRequested = "change-requested";
    public const string ChangeApplied = "change-applied";
    public const string ChangeRejected = "change-rejected";
    public const string ValidationSent = "validation-sent";
    public const string ValidationReminderSent = "validation-reminder-sent";
    public const string ValidationConfirmed = "validation-confirmed";
    public const string ValidationExpired = "validation-expired";
    public const string ValidationFailed = "validation-failed";
    /// <summary>An unconfirmed change was replaced by another (an opt-in flow's new selection): it will never apply.</summary>
    public const string ValidationSuperseded = "validation-superseded";
    /// <summary>
    /// An opt-in interface call (seed 003) created consent data or gave a flow a new selection: its extRefNo, kind and
    /// the change request that carries it.
    /// </summary>
    public const string OptInFlowRecorded = "opt-in-flow-recorded";
    /// <summary>An organisation defined or changed an inbound event type (seed 001): its source system, mapping and id pointer.</summary>
    public const string EventTypeConfigured = "event-type-configured";
    public const string EventTypeDeleted = "event-type-deleted";
    /// <summary>
    /// An inbound event (posted, or polled) became a change request: the event type, the change request and a keyed
    /// commitment to the event's raw body, which is kept sealed with the record's key.
    /// </summary>
    public const string InboundEventReceived = "inbound-event-received";
    /// <summary>A polling adapter was defined, changed, paused, resumed, stopped by a 4xx answer, or deleted.</summary>
    public const string PollerConfigured = "poller-configured";
    public const string PollerDeleted = "poller-deleted";
    public const string ReplicaConfigured = "replica-configured";
    public const string ReplicaDeleted = "replica-deleted";
    /// <summary>A change data capture subscription was defined, replaced or replayed from a ledger index (issue 18).</summary>
    public const string CdcSubscriptionConfigured = "cdc-subscription-configured";
    public const string CdcSubscriptionDeleted = "cdc-subscription-deleted";
    /// <summary>The email confirming an applied change (notify: true) went out.</summary>
    public const string NotificationSent = "notification-sent";
    /// <summary>The confirming email could not be sent (code 525, as a validation email).</summary>
    public const string NotificationFailed = "notification-failed";
    public const string DestinationRegistered = "destination-registered";
    public const string DestinationUpdated = "destination-updated";
    public const string DestinationDeleted = "destination-deleted";
    public const string DestinationSecretRotated = "destination-secret-rotated";
    /// <summary>The destination answered 410 Gone; nothing is delivered to it until it is enabled again.</summary>
    public const string DestinationDisabled = "destination-disabled";
    public const string DestinationEnabled = "destination-enabled";
    /// <summary>A source system acknowledged a PROPAGATED message with PROCESSED.</summary>
    public const string PropagationProcessed = "propagation-processed";
    public const string DpoUserCreated = "dpo-user-created";
    public const string DpoUserDeleted = "dpo-user-deleted";
    /// <summary>A DPO downloaded a bulk export: who, which context and organisation, how many records.</summary>
    public const string ExportDownloaded = "export-downloaded";
    /// <summary>An organisation joined the industry pool by a data sharing agreement, or replaced the agreement in force.</summary>
    public const string DataSharingJoined = "data-sharing-joined";
    public const string DataSharingLeft = "data-sharing-left";
    /// <summary>An external provider's list of hashed opt-outs was imported: its counts and the SHA-256 of the body as received.</summary>
    public const string IndustryListImported = "industry-list-imported";
    public const string IndustryListWithdrawn = "industry-list-withdrawn";
    /// <summary>A PostgreSQL login role was given read access to an organisation's views, or a new password: nmsc, role, by whom; never the password.</summary>
    public const string SqlAccessGranted = "sql-access-granted";
    public const string SqlAccessRevoked = "sql-access-revoked";
}
