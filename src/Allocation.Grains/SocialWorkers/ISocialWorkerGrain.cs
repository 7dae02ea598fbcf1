namespace Allocation.Grains.SocialWorkers;

/// <summary>
/// A social worker (or NQSW, advanced practitioner, personal adviser, practice manager), keyed by CMS id.
/// The worker owns its capacity: a child is only ever allocated after the worker has reserved a place for it,
/// and the worker is single-threaded, so concurrent allocations cannot take it over its ceiling.
/// </summary>
public interface ISocialWorkerGrain : IGrainWithStringKey
{
    Task<WorkerResult> Upsert(UpsertWorker command);

    /// <summary>Reserves a place for the child. Idempotent: a child already held is confirmed again.</summary>
    Task<Reservation> Reserve(ReservePlace request);

    /// <summary>Lets go of a child. Idempotent.</summary>
    Task Release(string childId);

    /// <summary>The child's write of the place reserved for it failed, and was not stored: lets go of the child, and
    /// reads the places stored with this worker again, in case the storage refused the write because they already
    /// reached the limit (places this activation did not reserve).</summary>
    Task ReleaseUnstored(string childId);

    /// <summary>The child's own write of an allocation to this worker had an unknown outcome (the database failed
    /// mid-write): the worker keeps the place and asks the child until it confirms or lets go.</summary>
    Task Recheck(string childId);

    /// <summary>The child's answer to <see cref="IChildGrain.ConfirmAllocation"/>: it is allocated here.</summary>
    Task Confirmed(string childId);

    [ReadOnly]
    Task<WorkerView?> Get();

    /// <summary>Records leave. If it has started, the result names the children to move (see <see cref="Staffing"/>).</summary>
    Task<WorkerResult> StartAbsence(StartAbsence command);

    /// <summary>Records that the worker has left. The result names the children to move (see <see cref="Staffing"/>).</summary>
    Task<WorkerResult> Leave(LeaveService command);
}

[GenerateSerializer, Immutable]
public sealed record UpsertWorker(
    [property: Id(0)] string Name,
    [property: Id(1)] string TeamId,
    [property: Id(2)] WorkerRole Role,
    [property: Id(3)] decimal Fte,
    [property: Id(4)] int? Ceiling = null,
    [property: Id(5)] bool Agency = false,
    /// <summary>Dates the worker's own supervision was recorded; null keeps those already held.</summary>
    [property: Id(6)] IReadOnlyList<DateOnly>? Supervisions = null);

[GenerateSerializer, Immutable]
public sealed record ReservePlace(
    [property: Id(0)] string ChildId,
    [property: Id(1)] string TeamId,
    [property: Id(2)] string RequestId,
    [property: Id(3)] CeilingOverride? Override,
    /// <summary>Seeding and import load history as it is, including caseloads already over the ceiling.</summary>
    [property: Id(4)] bool Import = false);

[GenerateSerializer, Immutable]
public sealed record Reservation(
    [property: Id(0)] Refusal? Refusal,
    [property: Id(1)] int Caseload,
    [property: Id(2)] int Ceiling,
    [property: Id(3)] bool OverCeiling)
{
    /// <summary>How many places the worker may hold with this one at most, for the child's write (see
    /// <see cref="IHoldsPlace.PlaceLimit"/>): the ceiling, unless the place was taken above it by override.</summary>
    public int? Limit => Refusal is null && !OverCeiling ? Ceiling : null;
}

[GenerateSerializer, Immutable]
public sealed record StartAbsence(
    [property: Id(0)] string RequestId,
    [property: Id(1)] DateTimeOffset From,
    [property: Id(2)] DateTimeOffset? To,
    [property: Id(3)] string Reason,
    [property: Id(4)] string? MoveToWorkerId = null,
    [property: Id(5)] string? By = null,
    /// <summary>The team the caller's access was checked against; the worker refuses if it is no longer in it.</summary>
    [property: Id(6)] string? ExpectedTeamId = null);

[GenerateSerializer, Immutable]
public sealed record LeaveService(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? MoveToWorkerId = null,
    [property: Id(3)] string? By = null,
    /// <summary>The team the caller's access was checked against; the worker refuses if it is no longer in it.</summary>
    [property: Id(4)] string? ExpectedTeamId = null);

[GenerateSerializer, Immutable]
public sealed record CaseEntry(
    [property: Id(0)] string ChildId,
    [property: Id(1)] DateTimeOffset AllocatedAt,
    /// <summary>The request that reserved the place, while the activation that reserved it holds it; null for a place
    /// read from the child's stored row.</summary>
    [property: Id(2)] string? RequestId,
    [property: Id(3)] CeilingOverride? Override);

[GenerateSerializer, Immutable]
public sealed record WorkerView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string TeamId,
    [property: Id(3)] WorkerRole Role,
    [property: Id(4)] decimal Fte,
    [property: Id(5)] int Ceiling,
    [property: Id(6)] int? ExplicitCeiling,
    [property: Id(7)] int CaseloadCount,
    [property: Id(8)] IReadOnlyList<CaseEntry> Caseload,
    [property: Id(9)] IReadOnlyList<Absence> Absences,
    [property: Id(10)] Absence? AbsentNow,
    [property: Id(11)] bool HasLeft,
    [property: Id(12)] int OverridesInForce,
    [property: Id(13)] bool Agency = false,
    [property: Id(14)] IReadOnlyList<DateOnly>? Supervisions = null);

/// <summary>Children to move off a caseload because the worker is absent or has left, and how.</summary>
[GenerateSerializer, Immutable]
public sealed record CaseloadMove(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? MoveToWorkerId,
    [property: Id(3)] string? By);

[GenerateSerializer, Immutable]
public sealed record WorkerResult(
    [property: Id(0)] Refusal? Refusal,
    [property: Id(1)] WorkerView? Worker,
    [property: Id(2)] IReadOnlyList<Children.ReleaseOutcome> Moved,
    [property: Id(3)] bool Replayed = false,
    /// <summary>Set when the worker's children must now move; <see cref="Staffing"/> moves them.</summary>
    [property: Id(4)] CaseloadMove? Move = null,
    [property: Id(5)] IReadOnlyList<string>? ToMove = null)
{
    public static WorkerResult Refused(Refusal refusal) => new(refusal, null, []);
}
