using Allocation.Grains.Authority;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Boards;

/// <summary>
/// A change to a team board: the cards and queue items to replace or remove, new feed items and breaches, and the
/// team's pressure. <see cref="Version"/> is the board's version after the change; a client holding any other
/// version than <c>Version - 1</c> fetches a fresh snapshot instead of applying it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TeamBoardDelta(
    [property: Id(0)] string TeamId,
    [property: Id(1)] long Version,
    [property: Id(2)] IReadOnlyList<WorkerCard> Workers,
    [property: Id(3)] IReadOnlyList<string> RemovedWorkers,
    [property: Id(4)] IReadOnlyList<QueueItem> Unallocated,
    [property: Id(5)] IReadOnlyList<string> RemovedUnallocated,
    [property: Id(6)] IReadOnlyList<FeedItem> Feed,
    [property: Id(7)] IReadOnlyList<EscalatedBreach> Breaches,
    [property: Id(8)] TeamPressure Pressure);

/// <summary>A social worker's own caseload, as "my caseload" shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerBoard(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Name,
    [property: Id(2)] string TeamId,
    [property: Id(3)] string TeamName,
    [property: Id(4)] WorkerRole Role,
    [property: Id(5)] decimal Fte,
    [property: Id(6)] int Ceiling,
    [property: Id(7)] int Caseload,
    [property: Id(8)] Absence? AbsentNow,
    [property: Id(9)] bool HasLeft,
    [property: Id(10)] long Version,
    [property: Id(11)] IReadOnlyList<WorkerBoardChild> Children);

[GenerateSerializer, Immutable]
public sealed record WorkerBoardChild(
    [property: Id(0)] string ChildId,
    [property: Id(1)] DateTimeOffset AllocatedAt,
    [property: Id(2)] int WorkerChanges,
    [property: Id(3)] int DistinctWorkersLast12Months,
    [property: Id(4)] bool Flagged,
    [property: Id(5)] bool OverCeiling);

/// <summary>The worker's board is small, so a change carries all of it.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerBoardDelta(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] long Version,
    [property: Id(2)] WorkerBoard Board);

/// <summary>
/// The leaders' overview after one team's pressure changed. The overview lives in memory in the authority grain,
/// so its versions restart with each activation: <see cref="Epoch"/> tells a client its version is from an earlier one.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record OverviewDelta(
    [property: Id(0)] string Epoch,
    [property: Id(1)] long Version,
    [property: Id(2)] TeamPressure Team,
    [property: Id(3)] AuthorityOverview Overview);

/// <summary>A threshold report was saved: leaders' pages fetch it (the report itself is too large to push).</summary>
[GenerateSerializer, Immutable]
public sealed record ReportSaved(
    [property: Id(0)] DateOnly Date,
    [property: Id(1)] DateTimeOffset RunAt,
    [property: Id(2)] int Red,
    [property: Id(3)] int Amber,
    [property: Id(4)] int Green);

[GenerateSerializer, Immutable]
public sealed record OverviewSnapshot(
    [property: Id(0)] string Epoch,
    [property: Id(1)] long Version,
    [property: Id(2)] AuthorityOverview Overview);
