using System.Text.Json.Serialization;

namespace Allocation.Grains.Children;

/// <summary>
/// A child known to the authority's case management system, keyed by its CMS id. The child is the source of truth
/// for which team it is in and which worker it is allocated to; the worker grain owns capacity.
/// </summary>
public interface IChildGrain : IGrainWithStringKey
{
    Task<ChildResult> Refer(ReferChild command);

    Task<ChildResult> Allocate(AllocateChild command);

    Task<ChildResult> Reallocate(ReallocateChild command);

    Task<ChildResult> Transfer(TransferChild command);

    Task<ChildResult> Close(CloseChild command);

    /// <summary>Loads a child with its past history (seeding and bulk import).</summary>
    Task<ChildResult> Import(ImportChild command);

    [ReadOnly]
    Task<ChildView?> Get();

    /// <summary>The child's team and worker, or null if it has not been referred: what an access check and a command's
    /// expectation need, without the whole view.</summary>
    [ReadOnly]
    Task<ChildExpectation?> GetPlace();

    /// <summary>Replaces the child's case record (visits, assessment, plan, supervision, oversight) for the nightly checks.</summary>
    Task<ChildResult> UpdateCaseRecord(UpdateCaseRecord command);

    /// <summary>For a worker on leave or leaving: the child goes back to the team's queue, or to the named worker
    /// if they can take it, then releases itself from the worker. Never called by that worker (see Staffing).</summary>
    Task<ReleaseOutcome> ReleaseFromWorker(ReleaseFromWorker command);

    [OneWay]
    Task ReleaseFromWorkerInBackground(ReleaseFromWorker command);

    /// <summary>Sent by a worker when it activates, for each child it holds, and while an allocation's outcome is
    /// unknown: a child not allocated to that worker tells it to let go (the reservation of an allocation the child
    /// never recorded); one allocated there says so.</summary>
    [OneWay]
    Task ConfirmAllocation(string workerId);

    /// <summary>Records a breach if the allocation deadline has passed. The team's clock watch calls this at the
    /// deadline; so does the child's activation, because a watch can be late.</summary>
    Task CheckClock();

    /// <summary><see cref="CheckClock"/>, one-way: the team asks without waiting, so it never waits on a child that
    /// is itself telling the team about the breach.</summary>
    [OneWay]
    Task CheckClockInBackground();
}

/// <summary>
/// The child as the caller's access was checked against: its team (null: not referred yet) and its worker. Where the
/// API reads the child to check access before a command (a case record, which its worker may change too), the child
/// may move in between, so the grain applies the command only while it is still so, and refuses with
/// <see cref="Rules.ChildChanged"/> if not. Null on a command: no expectation (the commands that carry a
/// <see cref="CommandAccess"/> instead, and the domain's own callers: seeding, import, tests).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ChildExpectation(
    [property: Id(0)] string? TeamId,
    [property: Id(1)] string? WorkerId)
{
    public static ChildExpectation Of(ChildView? child) => new(child?.TeamId, child?.WorkerId);

    /// <summary>What a command expects of a child never referred.</summary>
    public static readonly ChildExpectation None = new(null, null);
}

/// <summary>
/// Whose children the caller may give commands on: any team's (a senior leader) or those of the teams listed (the
/// teams they manage). The API passes the signed-in user's with each command on a child; the child checks it against
/// its own team as it applies the command, so the check and the command see the same team, with no read before and no
/// window between. Null on a command: the domain's own callers (seeding, import, tests), unchecked.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CommandAccess(
    [property: Id(0)] bool AnyTeam,
    [property: Id(1)] string[] Teams)
{
    public bool Covers(string? teamId) => AnyTeam || (teamId is not null && Array.IndexOf(Teams, teamId) >= 0);
}

[GenerateSerializer, Immutable]
public sealed record ReferChild(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string TeamId,
    [property: Id(2)] string? By = null,
    [property: Id(3)] ChildExpectation? Expect = null,
    /// <summary>The child's family in the case management system, if known (siblings share it); kept across episodes.</summary>
    [property: Id(4)] string? FamilyId = null,
    [property: Id(5)] CommandAccess? Access = null,
    /// <summary>The command's audit entry, drafted by the API from the sign-in (never from the request body).</summary>
    [property: Id(6), JsonIgnore] AuditDraft? Audit = null);

[GenerateSerializer, Immutable]
public sealed record AllocateChild(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string? By = null,
    [property: Id(3)] CeilingOverride? Override = null,
    [property: Id(4)] ChildExpectation? Expect = null,
    [property: Id(5)] CommandAccess? Access = null,
    /// <summary>The command's audit entry, drafted by the API from the sign-in (never from the request body).</summary>
    [property: Id(6), JsonIgnore] AuditDraft? Audit = null);

[GenerateSerializer, Immutable]
public sealed record ReallocateChild(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string? By = null,
    [property: Id(4)] CeilingOverride? Override = null,
    [property: Id(5)] ChildExpectation? Expect = null,
    [property: Id(6)] CommandAccess? Access = null,
    /// <summary>The command's audit entry, drafted by the API from the sign-in (never from the request body).</summary>
    [property: Id(7), JsonIgnore] AuditDraft? Audit = null);

[GenerateSerializer, Immutable]
public sealed record TransferChild(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string ToTeamId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string? By = null,
    [property: Id(4)] ChildExpectation? Expect = null,
    [property: Id(5)] CommandAccess? Access = null,
    /// <summary>The command's audit entry, drafted by the API from the sign-in (never from the request body).</summary>
    [property: Id(6), JsonIgnore] AuditDraft? Audit = null);

[GenerateSerializer, Immutable]
public sealed record CloseChild(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? By = null,
    [property: Id(3)] ChildExpectation? Expect = null,
    [property: Id(4)] CommandAccess? Access = null,
    /// <summary>The command's audit entry, drafted by the API from the sign-in (never from the request body).</summary>
    [property: Id(5), JsonIgnore] AuditDraft? Audit = null);

[GenerateSerializer, Immutable]
public sealed record ReleaseFromWorker(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string? MoveToWorkerId,
    [property: Id(4)] string? By);

[GenerateSerializer, Immutable]
public sealed record ImportChild(
    [property: Id(0)] string TeamId,
    [property: Id(1)] DateTimeOffset ReferredAt,
    [property: Id(2)] DateTimeOffset ClockStartedAt,
    [property: Id(3)] IReadOnlyList<WorkerPeriod> History,
    [property: Id(4)] CeilingOverride? Override = null,
    [property: Id(5)] CaseRecord? CaseRecord = null,
    [property: Id(6)] string? FamilyId = null);

public enum ReleaseKind
{
    /// <summary>The child was not allocated to that worker; nothing changed.</summary>
    NotHeld,
    /// <summary>The child went back to the team's unallocated queue; its clock restarted.</summary>
    Queued,
    /// <summary>The child moved to the named worker.</summary>
    Moved,
}

[GenerateSerializer, Immutable]
public sealed record ReleaseOutcome(
    [property: Id(0)] string ChildId,
    [property: Id(1)] ReleaseKind Kind,
    [property: Id(2)] string? WorkerId,
    [property: Id(3)] Refusal? MoveRefused);

/// <summary>The outcome of a command: either a refusal, or the child as it now is (with the receipt that applied it).</summary>
[GenerateSerializer, Immutable]
public sealed record ChildResult(
    [property: Id(0)] Refusal? Refusal,
    [property: Id(1)] ChildView? Child,
    [property: Id(2)] CommandReceipt? Receipt,
    [property: Id(3)] bool Replayed = false,
    /// <summary>The child's team and worker as the command found them (null: not referred), for the audit trail;
    /// not set on a refusal of access, whose caller may not learn them.</summary>
    [property: Id(4)] ChildExpectation? Before = null,
    /// <summary>True when the command's audit entry was stored with its write (<see cref="AuditDraft"/>): the API
    /// does not write it again.</summary>
    [property: Id(5)] bool Audited = false)
{
    public static ChildResult Refused(Refusal refusal) => new(refusal, null, null);
}

/// <summary>One allocation of the child to a worker, from allocation to the end of it.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerPeriod(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string TeamId,
    [property: Id(2)] DateTimeOffset From,
    [property: Id(3)] DateTimeOffset? To,
    [property: Id(4)] string Reason,
    [property: Id(5)] string? By = null,
    [property: Id(6)] string? EndReason = null,
    [property: Id(7)] CeilingOverride? Override = null);

[GenerateSerializer, Immutable]
public sealed record TeamMove(
    [property: Id(0)] string FromTeamId,
    [property: Id(1)] string ToTeamId,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Reason,
    [property: Id(4)] string? By);

[GenerateSerializer, Immutable]
public sealed record Breach(
    [property: Id(0)] string TeamId,
    [property: Id(1)] DateTimeOffset ClockStartedAt,
    [property: Id(2)] DateTimeOffset Deadline,
    [property: Id(3)] DateTimeOffset RecordedAt,
    [property: Id(4)] int Episode);

[GenerateSerializer, Immutable]
public sealed record ClockView(
    [property: Id(0)] DateTimeOffset StartedAt,
    [property: Id(1)] DateTimeOffset Deadline,
    [property: Id(2)] string Reason,
    [property: Id(3)] ClockStatus Status,
    [property: Id(4)] double SecondsLeft,
    [property: Id(5)] DateTimeOffset? StoppedAt,
    [property: Id(6)] bool Breached);

[GenerateSerializer, Immutable]
public sealed record ChildView(
    [property: Id(0)] string Id,
    [property: Id(1)] ChildStatus Status,
    [property: Id(2)] string TeamId,
    [property: Id(3)] string? WorkerId,
    [property: Id(4)] DateTimeOffset? AllocatedAt,
    [property: Id(5)] int Episode,
    [property: Id(6)] DateTimeOffset ReferredAt,
    [property: Id(7)] ClockView? Clock,
    [property: Id(8)] int WorkerChanges,
    [property: Id(9)] int DistinctWorkersLast12Months,
    [property: Id(10)] bool Flagged,
    [property: Id(11)] int TransferPoints,
    [property: Id(12)] IReadOnlyList<WorkerPeriod> WorkerHistory,
    [property: Id(13)] IReadOnlyList<TeamMove> Transfers,
    [property: Id(14)] IReadOnlyList<Breach> Breaches,
    [property: Id(15)] long Version,
    [property: Id(16)] CaseRecord? CaseRecord = null,
    [property: Id(17)] string? FamilyId = null);
