namespace ConsentHub.Consents;

/// <summary>
/// A change staged after others in one unit of work (<see cref="AppliedChange.SharesUnitOfWork"/>) reaches records
/// beyond its own (a cluster): what it reads of them may miss what the earlier changes staged, so it must start a unit of
/// work of its own. Nothing of the unit is committed; its earlier changes commit without it.
/// </summary>
/// <param name="RequestId">The change request that must start a unit of work of its own, when one is to blame.</param>
public sealed class UnitOfWorkOverlap(string reason, Guid? requestId = null) : Exception(reason)
{
    public Guid? RequestId => requestId;
}
