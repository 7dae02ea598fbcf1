namespace Allocation.Grains.Teams;

/// <summary>
/// A team and its board. The board is a projection: built from the stored facts of the team's open children and its
/// workers when the team activates, then kept current by the summary each of those grains sends after every change,
/// so the board and the team's pressure are read without activating them and nothing of it is written per change.
/// </summary>
public interface ITeamGrain : IGrainWithStringKey
{
    Task<TeamInfo> Upsert(string name);

    Task WorkerChanged(TeamWorkerSummary worker);

    Task WorkerRemoved(string workerId);

    Task ChildChanged(TeamChildSummary child, FeedItem? feed);

    Task ChildLeft(string childId, long childVersion, FeedItem? feed);

    /// <summary>An open child says what it is (on activation, on a retried command, after a write whose answer was
    /// lost): the team takes it only if it is newer than what the board holds. The summary a child sends after a write
    /// may never come (the database failed as the write committed); this puts the board right from what is stored.
    /// See <see cref="TeamResync"/>.</summary>
    [OneWay]
    Task ChildSeen(TeamChildSummary child);

    /// <summary>A child says it is no longer on this team's board (closed, or transferred away): taken off
    /// only if the board holds an older summary of it. See <see cref="ChildSeen"/>.</summary>
    [OneWay]
    Task ChildGone(string childId, long childVersion);

    Task BreachRaised(BreachNotice breach);

    /// <summary>
    /// The board. Interleaves with a breach's escalation being stored, so reads never wait for a database write;
    /// clients get each change as a delta with the next version.
    /// </summary>
    [ReadOnly, AlwaysInterleave]
    Task<TeamBoard> GetBoard();

    [ReadOnly]
    Task<TeamPressure> GetPressure();

    [ReadOnly]
    Task<Boards.WorkerBoard?> GetWorkerBoard(string workerId);

    /// <summary>Sets the team's establishment (funded FTE), or clears it when unknown.</summary>
    Task SetEstablishment(decimal? establishmentFte);

    /// <summary>The team's counts for the nightly threshold checks at <paramref name="at"/>, from its summaries alone.</summary>
    [ReadOnly]
    Task<Kpis.TeamMeasures> GetMeasures(DateTimeOffset at);

    /// <summary>The team's worker and open-child summaries as they are, for the recommendation, the preview and the
    /// forecast (see Advice/), which work from them without activating any worker or child.</summary>
    [ReadOnly]
    Task<TeamRoster> GetRoster();
}

[GenerateSerializer, Immutable]
public sealed record TeamRoster(
    [property: Id(0)] string TeamId,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<TeamWorkerSummary> Workers,
    [property: Id(3)] IReadOnlyList<TeamChildSummary> Children);

[GenerateSerializer, Immutable]
public sealed record TeamInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name);

[GenerateSerializer, Immutable]
public sealed record TeamWorkerSummary(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Name,
    [property: Id(2)] WorkerRole Role,
    [property: Id(3)] decimal Fte,
    [property: Id(4)] int Ceiling,
    [property: Id(5)] IReadOnlyList<Absence> Absences,
    [property: Id(6)] bool HasLeft,
    [property: Id(7)] int OverridesInForce,
    /// <summary>Agency (not employed) staff, for the nightly agency-share check.</summary>
    [property: Id(8)] bool Agency = false,
    /// <summary>Dates the worker's own supervision was recorded (recent ones), for KPI 43.</summary>
    [property: Id(9)] IReadOnlyList<DateOnly>? Supervisions = null);

/// <summary>What the team needs to know of an open child: its worker, its clock, its worker-change figures.</summary>
[GenerateSerializer, Immutable]
public sealed record TeamChildSummary(
    [property: Id(0)] string ChildId,
    [property: Id(1)] long Version,
    [property: Id(2)] string? WorkerId,
    [property: Id(3)] DateTimeOffset? AllocatedAt,
    [property: Id(4)] DateTimeOffset ClockStartedAt,
    [property: Id(5)] DateTimeOffset Deadline,
    [property: Id(6)] string ClockReason,
    [property: Id(7)] bool Breached,
    [property: Id(8)] int WorkerChanges,
    /// <summary>The child's allocation periods that still touch the rolling window, to count distinct workers at any time.</summary>
    [property: Id(9)] IReadOnlyList<Children.WorkerPeriod> RecentPeriods,
    /// <summary>Visits, assessment, plan, supervision and oversight dates, for the nightly threshold checks.</summary>
    [property: Id(10)] Children.CaseRecord? CaseRecord = null,
    /// <summary>When the current episode was referred, and the referral before it (KPI 1 cohorts, KPI 3 re-referrals).</summary>
    [property: Id(11)] DateTimeOffset? ReferredAt = null,
    [property: Id(12)] DateTimeOffset? PreviousReferredAt = null,
    /// <summary>When the child moved between teams in the last 12 months (transfer points).</summary>
    [property: Id(13)] IReadOnlyList<DateTimeOffset>? RecentTransfers = null,
    /// <summary>The child's family, so a worker already holding a brother or sister can be recommended.</summary>
    [property: Id(14)] string? FamilyId = null);

[GenerateSerializer, Immutable]
public sealed record FeedItem(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Kind,
    [property: Id(2)] string ChildId,
    [property: Id(3)] string? WorkerId,
    [property: Id(4)] string? By,
    [property: Id(5)] string Text);

[GenerateSerializer, Immutable]
public sealed record BreachNotice(
    [property: Id(0)] string ChildId,
    [property: Id(1)] DateTimeOffset ClockStartedAt,
    [property: Id(2)] DateTimeOffset Deadline,
    [property: Id(3)] DateTimeOffset RecordedAt,
    [property: Id(4)] long ChildVersion);

[GenerateSerializer, Immutable]
public sealed record EscalatedBreach(
    [property: Id(0)] string ChildId,
    [property: Id(1)] DateTimeOffset ClockStartedAt,
    [property: Id(2)] DateTimeOffset Deadline,
    [property: Id(3)] DateTimeOffset RecordedAt,
    /// <summary>Who the breach was escalated to: the team's practice managers and the head of service.</summary>
    [property: Id(4)] IReadOnlyList<string> EscalatedTo);

/// <summary>A worker's card colour: green with room, amber near the ceiling, red at or over it.</summary>
public enum CapacityStatus
{
    /// <summary>More than two places below the ceiling.</summary>
    Room,
    /// <summary>One or two places left.</summary>
    Near,
    /// <summary>At the ceiling.</summary>
    Full,
    /// <summary>Above the ceiling by override.</summary>
    Over,
    /// <summary>No caseload and a ceiling of zero (a manager who holds no cases).</summary>
    None,
}

[GenerateSerializer, Immutable]
public sealed record WorkerCard(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Name,
    [property: Id(2)] WorkerRole Role,
    [property: Id(3)] decimal Fte,
    [property: Id(4)] int Caseload,
    [property: Id(5)] int Ceiling,
    [property: Id(6)] CapacityStatus Capacity,
    [property: Id(7)] Absence? AbsentNow,
    [property: Id(8)] int OverridesInForce,
    [property: Id(9)] IReadOnlyList<string> Children);

[GenerateSerializer, Immutable]
public sealed record QueueItem(
    [property: Id(0)] string ChildId,
    [property: Id(1)] DateTimeOffset ClockStartedAt,
    [property: Id(2)] DateTimeOffset Deadline,
    [property: Id(3)] string Reason,
    [property: Id(4)] ClockStatus Clock,
    [property: Id(5)] double SecondsLeft,
    [property: Id(6)] int DistinctWorkersLast12Months,
    [property: Id(7)] bool Flagged,
    /// <summary>The child's plan (CIN, CP, CLA, care leaver) from its case record, which a manager needs when allocating.</summary>
    [property: Id(8)] Children.PlanType? Plan = null);

[GenerateSerializer, Immutable]
public sealed record TeamBoard(
    [property: Id(0)] string TeamId,
    [property: Id(1)] string Name,
    [property: Id(2)] long Version,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] IReadOnlyList<WorkerCard> Workers,
    [property: Id(5)] IReadOnlyList<QueueItem> Unallocated,
    [property: Id(6)] IReadOnlyList<FeedItem> Feed,
    [property: Id(7)] IReadOnlyList<EscalatedBreach> RecentBreaches,
    [property: Id(8)] TeamPressure Pressure,
    /// <summary>Time left at which a clock turns amber (the authority's setting), for clients' live countdowns.</summary>
    [property: Id(9)] double AmberThresholdSeconds);

/// <summary>A team's pressure as the leaders' overview shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record TeamPressure(
    [property: Id(0)] string TeamId,
    [property: Id(1)] string Name,
    [property: Id(2)] long Version,
    [property: Id(3)] int Workers,
    [property: Id(4)] int WorkersAtOrUnderCeiling,
    [property: Id(5)] decimal PercentAtOrUnderCeiling,
    [property: Id(6)] int OpenChildren,
    [property: Id(7)] int Allocated,
    [property: Id(8)] int Unallocated,
    [property: Id(9)] double LongestWaitSeconds,
    [property: Id(10)] int BreachedNow,
    [property: Id(11)] int BreachesLast24Hours,
    [property: Id(12)] int ChildrenOverWorkerThreshold,
    [property: Id(13)] int OverridesInForce,
    /// <summary>When these figures were computed: <see cref="LongestWaitSeconds"/> grows from here while nothing changes.</summary>
    [property: Id(14)] DateTimeOffset At,
    [property: Id(15)] double AllocationWindowSeconds,
    [property: Id(16)] double AmberThresholdSeconds);
