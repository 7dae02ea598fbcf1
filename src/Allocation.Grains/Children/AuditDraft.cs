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
    /// <summary>
    /// The entry of the command as applied, by the rules the API's entries follow: the subject's team is the team the
    /// child was in (or, for a referral, the team named), else the team it is in now; a worker named by the command is
    /// the entry's worker, and the worker the child had before it, if another, the other worker; with no worker named,
    /// the worker the child had, else the one it has now.
    /// </summary>
    /// <param name="before">The child's team and worker as the command found them (null: a referral, which names its team).</param>
    public AuditDraft Completed(ChildExpectation? before, string teamNow, string? workerNow, DateTimeOffset at)
    {
        var team = before?.TeamId ?? TeamId;
        var (worker, otherWorker) = (WorkerId, OtherWorkerId);
        if (worker is null)
        {
            worker = before?.WorkerId;
        }
        else if (before?.WorkerId is { } was && was != worker)
        {
            otherWorker = was;
        }

        if (worker is null && workerNow is not null && workerNow != otherWorker)
        {
            worker = workerNow;
        }

        return this with { TeamId = team ?? teamNow, WorkerId = worker, OtherWorkerId = otherWorker, At = at };
    }
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
