namespace Allocation.Grains;

public enum WorkerRole
{
    SocialWorker,
    NewlyQualified,
    AdvancedPractitioner,
    PersonalAdviser,
    PracticeManager,
}

public enum ChildStatus
{
    Unallocated,
    Allocated,
    Closed,
}

public enum ClockStatus
{
    Green,
    Amber,
    Red,
    /// <summary>The child has a worker; the clock has stopped.</summary>
    Stopped,
    /// <summary>The child's case is closed.</summary>
    None,
}

/// <summary>Why a command was not applied. <see cref="Figures"/> carries the numbers behind the rule.</summary>
[GenerateSerializer, Immutable]
public sealed record Refusal(
    [property: Id(0)] RefusalKind Kind,
    [property: Id(1)] string Rule,
    [property: Id(2)] string Detail,
    [property: Id(3)] Dictionary<string, decimal>? Figures = null)
{
    public static Refusal Conflict(string rule, string detail, Dictionary<string, decimal>? figures = null) =>
        new(RefusalKind.Conflict, rule, detail, figures);

    public static Refusal NotFound(string detail) => new(RefusalKind.NotFound, "unknown-id", detail);

    public static Refusal Invalid(string rule, string detail) => new(RefusalKind.Invalid, rule, detail);

    public static Refusal Forbidden(string rule, string detail) => new(RefusalKind.Forbidden, rule, detail);
}

public enum RefusalKind
{
    /// <summary>A domain rule refused the command (HTTP 409).</summary>
    Conflict,
    /// <summary>An id the command names does not exist (HTTP 404).</summary>
    NotFound,
    /// <summary>The command is malformed (HTTP 400).</summary>
    Invalid,
    /// <summary>The caller may not give this command on this subject (HTTP 403).</summary>
    Forbidden,
}

/// <summary>Names of the rules a refusal can cite; clients may match on them.</summary>
public static class Rules
{
    public const string Ceiling = "caseload-ceiling";
    public const string WorkerAbsent = "worker-absent";
    public const string WorkerLeft = "worker-left";
    public const string WrongTeam = "worker-not-in-team";
    public const string AlreadyAllocated = "child-already-allocated";
    public const string NotAllocated = "child-not-allocated";
    public const string SameWorker = "same-worker";
    public const string SameTeam = "same-team";
    public const string ChildClosed = "child-closed";
    public const string ChildOpen = "child-already-open";
    public const string OverrideNotAllowed = "ceiling-override-not-allowed";
    public const string OverrideIncomplete = "ceiling-override-incomplete";
    public const string RequestIdReused = "request-id-reused";
    public const string WorkerHasCaseload = "worker-has-caseload";
    public const string UnknownTeam = "unknown-team";
    /// <summary>A list the grain keeps (a child's worker periods or transfers, a worker's absences) is at its cap.</summary>
    public const string RecordFull = "record-full";
    /// <summary>The child's team or worker is no longer the one the caller's access was checked against.</summary>
    public const string ChildChanged = "child-changed";
    /// <summary>The worker's team is no longer the one the caller's access was checked against.</summary>
    public const string WorkerChanged = "worker-changed";
    /// <summary>The child is in a team the caller does not manage (a command on it).</summary>
    public const string TeamNotYours = "team-not-yours";
    /// <summary>The child is in a team the caller does not manage (a re-referral into the caller's team).</summary>
    public const string ChildNotYours = "child-not-yours";
}

/// <summary>A named senior user's decision to allocate above a worker's ceiling.</summary>
[GenerateSerializer, Immutable]
public sealed record CeilingOverride(
    [property: Id(0)] string By,
    [property: Id(1)] string Reason);

/// <summary>What a state-changing command did the first time; a retry with the same request id by the same user
/// gets it back. <see cref="By"/> binds it to that user: someone else who learns the request id gets no answer from it.</summary>
[GenerateSerializer, Immutable]
public sealed record CommandReceipt(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Command,
    [property: Id(2)] DateTimeOffset AppliedAt,
    [property: Id(3)] string? WorkerId,
    [property: Id(4)] string? TeamId,
    [property: Id(5)] long Version,
    [property: Id(6)] string? By = null)
{
    /// <summary>Whether a command named <paramref name="command"/> by <paramref name="by"/> is a retry of this one.</summary>
    public bool IsRetryOf(string command, string? by) => Command == command && By == by;
}

[GenerateSerializer, Immutable]
public sealed record Absence(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset? To,
    [property: Id(2)] string Reason);
