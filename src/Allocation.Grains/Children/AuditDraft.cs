using System.Text.Json.Serialization;

namespace Allocation.Grains.Children;

/// <summary>
/// The audit entry of a command on a child, as the API drafts it from the request and the signed-in user before the
/// child applies it. When the child applies the command, it completes the entry with its team and worker
/// (<see cref="Completed"/>) and the grain storage stores it with the command's own write, in the same statement as
/// the state and the receipt (<see cref="IRecordsAudit"/>): an accepted command is on the record exactly when it is in
/// effect, and costs no transaction of its own. A refusal, a replay, or a storage that does not store entries leaves
/// the entry to the API, as for every other command.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AuditDraft(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Roles,
    [property: Id(2)] string Action,
    [property: Id(3)] string? RequestId,
    [property: Id(4)] string? TraceId,
    [property: Id(5)] string? ChildId,
    [property: Id(6)] string? TeamId,
    [property: Id(7)] string? WorkerId,
    [property: Id(8)] string? OtherTeamId,
    [property: Id(9)] string? OtherWorkerId,
    [property: Id(10)] string? Reason,
    [property: Id(11)] string? OverrideReason,
    /// <summary>When the command was applied; set by <see cref="Completed"/>.</summary>
    [property: Id(12)] DateTimeOffset? At = null)
{
    /// <summary>The entry of the command as applied (<see cref="Subject"/>, then <see cref="WorkerAfter"/>).</summary>
    /// <param name="before">The child's team and worker as the command found them (null: a referral, which names its team).</param>
    public AuditDraft Completed(ChildExpectation? before, string teamNow, string? workerNow, DateTimeOffset at)
    {
        var (team, worker, otherWorker) = Subject(TeamId, WorkerId, OtherWorkerId, before);
        return this with { TeamId = team ?? teamNow, WorkerId = WorkerAfter(worker, otherWorker, workerNow), OtherWorkerId = otherWorker, At = at };
    }

    /// <summary>
    /// An entry's subject, by the rules every command's entry follows (here and in the API's own entries): the team is
    /// the team the subject was in, else the team the command named; a worker named by the command is the entry's
    /// worker, and the worker the subject had before, if another, the other worker; with no worker named, the worker
    /// the subject had.
    /// </summary>
    public static (string? Team, string? Worker, string? OtherWorker) Subject(string? team, string? worker, string? otherWorker, ChildExpectation? before)
    {
        if (worker is null)
        {
            worker = before?.WorkerId;
        }
        else if (before?.WorkerId is { } was && was != worker)
        {
            otherWorker = was;
        }

        return (before?.TeamId ?? team, worker, otherWorker);
    }

    /// <summary>An entry's worker once the command is applied: the one it has, else the child's worker now unless that
    /// is the worker the child left.</summary>
    public static string? WorkerAfter(string? worker, string? otherWorker, string? workerNow) =>
        worker ?? (workerNow != otherWorker ? workerNow : null);
}

/// <summary>A state whose next write also stores a command's audit entry (null: none), in the same statement, only if
/// that write stores the state. A storage that stored it says so (<see cref="AuditStored"/>); one that cannot leaves
/// it unset, and the API writes the entry as for any other command.</summary>
public interface IRecordsAudit
{
    AuditDraft? Auditing { get; }

    /// <summary>Set by the storage when the write that stored the state stored <see cref="Auditing"/> with it.</summary>
    bool AuditStored { get; set; }
}
