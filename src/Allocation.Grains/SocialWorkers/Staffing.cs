using Allocation.Grains.Children;

namespace Allocation.Grains.SocialWorkers;

/// <summary>
/// Absence and leaving: the worker grain records the decision, then each child moves itself (back to the queue or
/// to the named worker) and releases itself from the worker. The worker never waits on its children while they
/// call it back, so a child being re-allocated at the same moment cannot deadlock with the move.
/// </summary>
public static class Staffing
{
    public static async Task<WorkerResult> StartAbsence(IGrainFactory grains, string workerId, StartAbsence command) =>
        await Complete(grains, workerId, await grains.GetGrain<ISocialWorkerGrain>(workerId).StartAbsence(command));

    public static async Task<WorkerResult> Leave(IGrainFactory grains, string workerId, LeaveService command) =>
        await Complete(grains, workerId, await grains.GetGrain<ISocialWorkerGrain>(workerId).Leave(command));

    /// <summary>Moves the children one at a time, so a named worker fills up in a predictable order.</summary>
    public static async Task<IReadOnlyList<ReleaseOutcome>> Move(IGrainFactory grains, string workerId, CaseloadMove move, IReadOnlyList<string> childIds)
    {
        var outcomes = new List<ReleaseOutcome>(childIds.Count);
        foreach (var childId in childIds)
        {
            outcomes.Add(await grains.GetGrain<IChildGrain>(childId).ReleaseFromWorker(Command(workerId, move, childId)));
        }

        return outcomes;
    }

    /// <summary>For the worker grain itself (a reminder, or resuming after a crash): one-way, nothing waits.</summary>
    public static void MoveInBackground(IGrainFactory grains, string workerId, CaseloadMove move, IReadOnlyList<string> childIds)
    {
        foreach (var childId in childIds)
        {
            _ = grains.GetGrain<IChildGrain>(childId).ReleaseFromWorkerInBackground(Command(workerId, move, childId));
        }
    }

    private static async Task<WorkerResult> Complete(IGrainFactory grains, string workerId, WorkerResult result)
    {
        if (result.Refusal is not null || result.Move is not { } move || result.ToMove is not { Count: > 0 } children)
        {
            return result;
        }

        var moved = await Move(grains, workerId, move, children);
        return result with { Moved = moved, Worker = await grains.GetGrain<ISocialWorkerGrain>(workerId).Get(), ToMove = [] };
    }

    private static ReleaseFromWorker Command(string workerId, CaseloadMove move, string childId) =>
        new($"{move.RequestId}/{childId}", workerId, move.Reason, move.MoveToWorkerId, move.By);
}
