using ConsentHub.Auth;
using ConsentHub.Bulk;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.OptOut;
using ConsentHub.Propagation;
using ConsentHub.Rights;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace ConsentHub.Data;

/// <summary>
/// The one model of the hub. Each provider has a thin subclass so that each keeps its own
/// migrations (see <see cref="SqliteConsentDb"/> and <see cref="PostgresConsentDb"/>).
/// </summary>
public abstract class ConsentDb(DbContextOptions options) : DbContext(options), IDataProtectionKeyContext
{
    /// <summary>Topics of <see cref="ChangeNotices"/> written by a save outside a transaction, told once it has committed.</summary>
    internal HashSet<string> UnsentTopics { get; } = new(StringComparer.Ordinal);

    /// <summary>Topics noticed inside the open transaction, moved on at this instance when it commits.</summary>
    internal HashSet<string> CommittingTopics { get; } = new(StringComparer.Ordinal);

    InsertBuffer? inserts;

    /// <summary>
    /// From now until the buffer is disposed, <see cref="Insert{T}"/> holds new rows untracked, for
    /// <see cref="CopyInsert.WriteAddedAsync"/> to write (<see cref="InsertBuffer"/>).
    /// </summary>
    public InsertBuffer BufferInserts()
    {
        if (inserts is not null) throw new InvalidOperationException("An insert buffer is already open on this context.");
        return inserts = new InsertBuffer(this);
    }

    internal void CloseInsertBuffer(InsertBuffer buffer)
    {
        if (ReferenceEquals(inserts, buffer)) inserts = null;
    }

    internal InsertBuffer? OpenInsertBuffer => inserts;

    /// <summary>Stages a new row: into the open insert buffer, else tracked as added (written by the next save).</summary>
    public void Insert<T>(T row) where T : class
    {
        if (inserts is { } buffer) buffer.Add(row);
        else Set<T>().Add(row);
    }

    /// <summary>The rows of a type this unit of work has staged or loaded: those tracked and those in the insert buffer.</summary>
    /// <remarks>
    /// The local view is taken without detecting changes first. Which rows it holds never depends on detection (rows
    /// join it when added, attached or read, and the model has no navigations to discover more by), and callers read
    /// the rows' properties themselves. Detection compares every tracked row with its snapshot: a group of changes
    /// looking for its keys and sealed rows paid it once per look, a twelfth of the write path's CPU.
    /// </remarks>
    public IEnumerable<T> Staged<T>() where T : class
    {
        var detect = ChangeTracker.AutoDetectChangesEnabled;
        ChangeTracker.AutoDetectChangesEnabled = false;
        LocalView<T> local;
        try
        {
            local = Set<T>().Local;
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = detect;
        }
        return inserts is { } buffer ? local.Concat(buffer.Of<T>()) : local;
    }

    public DbSet<Organisation> Organisations => Set<Organisation>();
    public DbSet<ConsentContext> Contexts => Set<ConsentContext>();
    public DbSet<SourceSystem> SourceSystems => Set<SourceSystem>();
    public DbSet<OrganisationCategory> OrganisationCategories => Set<OrganisationCategory>();
    public DbSet<HubUser> Users => Set<HubUser>();
    public DbSet<ServerKey> ServerKeys => Set<ServerKey>();
    public DbSet<ClientLockout> ClientLockouts => Set<ClientLockout>();
    public DbSet<Customer> Customers => Set<Customer>();
    public DbSet<ChangeRequest> ChangeRequests => Set<ChangeRequest>();
    public DbSet<ConsentEntry> ConsentEntries => Set<ConsentEntry>();
    public DbSet<ChannelEntry> ChannelEntries => Set<ChannelEntry>();
    public DbSet<PersonKey> PersonKeys => Set<PersonKey>();
    public DbSet<SealedPersonalData> PersonalData => Set<SealedPersonalData>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<LedgerEntry> LedgerEntries => Set<LedgerEntry>();
    public DbSet<LedgerHead> LedgerHeads => Set<LedgerHead>();
    public DbSet<LedgerTreeNode> LedgerTreeNodes => Set<LedgerTreeNode>();
    public DbSet<LedgerCheckpoint> LedgerCheckpoints => Set<LedgerCheckpoint>();
    public DbSet<ValidationRequest> Validations => Set<ValidationRequest>();
    public DbSet<ValidationToken> ValidationTokens => Set<ValidationToken>();
    public DbSet<ContextTexts> ContextTexts => Set<ContextTexts>();
    public DbSet<Notification> Notifications => Set<Notification>();
    public DbSet<Destination> Destinations => Set<Destination>();
    public DbSet<ClusterMember> ClusterMembers => Set<ClusterMember>();
    public DbSet<ClusterFeed> ClusterFeeds => Set<ClusterFeed>();
    public DbSet<PropagationMessage> Propagations => Set<PropagationMessage>();
    public DbSet<DeliveryAttempt> DeliveryAttempts => Set<DeliveryAttempt>();
    public DbSet<PropagatedValue> PropagatedValues => Set<PropagatedValue>();
    public DbSet<Upload> Uploads => Set<Upload>();
    public DbSet<UploadError> UploadErrors => Set<UploadError>();
    public DbSet<Erasure> Erasures => Set<Erasure>();
    public DbSet<ErasedRecord> ErasedRecords => Set<ErasedRecord>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<OptOutTransaction> OptOutTransactions => Set<OptOutTransaction>();
    public DbSet<OptOutRecord> OptOutRecords => Set<OptOutRecord>();
    public DbSet<SuppressionEntry> SuppressionEntries => Set<SuppressionEntry>();
    public DbSet<DataSharingAgreement> DataSharingAgreements => Set<DataSharingAgreement>();
    public DbSet<IndustryOptOut> IndustryOptOuts => Set<IndustryOptOut>();
    public DbSet<SuppressionFileSettings> SuppressionFileSettings => Set<SuppressionFileSettings>();
    public DbSet<SuppressionFile> SuppressionFiles => Set<SuppressionFile>();
    public DbSet<SuppressionFileChunk> SuppressionFileChunks => Set<SuppressionFileChunk>();
    public DbSet<OptIn.OptInType> OptInTypes => Set<OptIn.OptInType>();
    public DbSet<OptIn.OptInFlow> OptInFlows => Set<OptIn.OptInFlow>();
    public DbSet<Inbound.EventType> EventTypes => Set<Inbound.EventType>();
    public DbSet<Inbound.InboundEvent> InboundEvents => Set<Inbound.InboundEvent>();
    public DbSet<Inbound.Poller> Pollers => Set<Inbound.Poller>();
    public DbSet<Inbound.PollerRun> PollerRuns => Set<Inbound.PollerRun>();
    public DbSet<Outbound.ChangeLogEntry> ChangeLog => Set<Outbound.ChangeLogEntry>();
    public DbSet<Outbound.CdcSubscription> CdcSubscriptions => Set<Outbound.CdcSubscription>();
    public DbSet<Outbound.Replica> Replicas => Set<Outbound.Replica>();
    public DbSet<Extracts.ExtractDefinition> ExtractDefinitions => Set<Extracts.ExtractDefinition>();
    public DbSet<Extracts.ExtractRun> ExtractRuns => Set<Extracts.ExtractRun>();
    public DbSet<Extracts.ExtractChunk> ExtractChunks => Set<Extracts.ExtractChunk>();
    public DbSet<Reminders.ReminderRule> ReminderRules => Set<Reminders.ReminderRule>();
    public DbSet<Reminders.ReminderRun> ReminderRuns => Set<Reminders.ReminderRun>();
    public DbSet<Reminders.Reminder> Reminders => Set<Reminders.Reminder>();
    public DbSet<Preferences.PreferenceLinkUse> PreferenceLinkUses => Set<Preferences.PreferenceLinkUse>();
    public DbSet<OperatorConsole.ActivityHour> ActivityHours => Set<OperatorConsole.ActivityHour>();
    public DbSet<OperatorConsole.ActivityMark> ActivityMarks => Set<OperatorConsole.ActivityMark>();
    /// <summary>ASP.NET Data Protection keys (antiforgery), shared by every instance.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public abstract DatabaseProvider Provider { get; }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ConsentDb).Assembly);
        modelBuilder.UseOpenIddict();
    }
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}
