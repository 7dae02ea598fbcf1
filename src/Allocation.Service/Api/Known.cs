using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Grains.SocialWorkers;

namespace Allocation.Service.Api;

/// <summary>Existence checks that never activate the entity's own grain.</summary>
public static class Known
{
    public static Task<bool> Team(IGrainFactory grains, string teamId) => IdDirectory.Contains(grains, IdKind.Team, teamId);

    public static Task<bool> Worker(IGrainFactory grains, string workerId) => IdDirectory.Contains(grains, IdKind.Worker, workerId);

    public static Task<bool> Child(IGrainFactory grains, string childId) => IdDirectory.Contains(grains, IdKind.Child, childId);

    /// <summary>The child as it is, or null for an id that is malformed or unknown (whose grain is never activated).</summary>
    public static async Task<ChildView?> FindChild(IGrainFactory grains, string? childId) =>
        Problems.IsValidId(childId) && await Child(grains, childId!) ? await grains.GetGrain<IChildGrain>(childId!).Get() : null;

    /// <summary>The child's team and worker, or null for an id that is malformed or unknown (whose grain is never activated).</summary>
    public static async Task<ChildExpectation?> FindPlace(IGrainFactory grains, string? childId) =>
        Problems.IsValidId(childId) && await Child(grains, childId!) ? await grains.GetGrain<IChildGrain>(childId!).GetPlace() : null;

    /// <summary>The worker as they are, or null for an id that is malformed or unknown (whose grain is never activated).</summary>
    public static async Task<WorkerView?> FindWorker(IGrainFactory grains, string? workerId) =>
        Problems.IsValidId(workerId) && await Worker(grains, workerId!) ? await grains.GetGrain<ISocialWorkerGrain>(workerId!).Get() : null;
}
