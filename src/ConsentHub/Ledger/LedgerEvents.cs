namespace ConsentHub.Ledger;

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
    /// <summary>An operator made a destination's failed messages due now (POST …/destination/recover): how many, since when, by whom.</summary>
    public const string DeliveriesRecovered = "deliveries-recovered";
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
