using Allocation.Grains.Children;

namespace Allocation.Grains.SocialWorkers;

/// <summary>
/// A stored state that holds a place on a worker's caseload while <see cref="HeldBy"/> is not null: an allocated child.
/// The child's row is the one record of the place; the worker's caseload is read from these rows, not stored again.
/// </summary>
public interface IHoldsPlace
{
    /// <summary>The worker the state holds a place with; stored with the row, indexed.</summary>
    string? HeldBy { get; }

    /// <summary>For the write that takes the place: how many places the worker may hold with it at most, as the worker
    /// reserved it (null: no limit, e.g. an override above the ceiling). The storage refuses the write, as stale, when
    /// the worker's other stored places already reach it, so a worker's caseload stays within its ceiling even if two
    /// activations of the worker ever reserved at once. Not itself stored.</summary>
    int? PlaceLimit { get; }
}

/// <summary>Reads a worker's caseload from the states that hold places with it (<see cref="IHoldsPlace"/>):
/// implemented by the grain storage.</summary>
public interface IHeldPlaces
{
    Task<IReadOnlyList<CaseEntry>> ReadHeld(string workerId, CancellationToken cancellationToken = default);
}

public static class HeldPlaces
{
    /// <summary>The place an allocated child holds, as the worker's caseload shows it: since when, and the override
    /// above the ceiling it was taken by, if any.</summary>
    public static CaseEntry? PlaceOf(string childId, ChildState child) =>
        child.HeldBy is not { } workerId ? null
        : AllocationRules.CurrentPeriodWith(child.WorkerHistory, workerId) is { } period ? new CaseEntry(childId, period.From, null, period.Override)
        : new CaseEntry(childId, child.ReferredAt, null, null);
}
