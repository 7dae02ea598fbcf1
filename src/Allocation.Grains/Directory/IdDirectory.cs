using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Orleans.Concurrency;

namespace Allocation.Grains.Directory;

public enum IdKind
{
    Child,
    Worker,
}

/// <summary>
/// Whether a grain's state is stored: implemented by the grain storage, whose row is the one record that a child or a
/// worker exists (nothing else stores it again).
/// </summary>
public interface IKnownIds
{
    Task<bool> IsStored(GrainId grainId, string stateName);
}

/// <summary>Asks the grain storage whether an id is stored, on whichever silo the caller is on.</summary>
public interface IIdDirectoryGrain : IGrainWithIntegerKey
{
    [ReadOnly]
    Task<bool> IsStored(GrainId grainId, string stateName);
}

[StatelessWorker]
public sealed class IdDirectoryGrain(IKnownIds ids) : Grain, IIdDirectoryGrain
{
    public Task<bool> IsStored(GrainId grainId, string stateName) => ids.IsStored(grainId, stateName);
}

/// <summary>
/// The existence check the API makes before it touches a child's or a worker's grain, so an unknown id is answered
/// with 404 and never activates one: one indexed read of the grain storage (by grain id, without activating it).
/// Children and workers are never deleted, so an id once found is remembered by each host and not read again.
/// </summary>
public static class IdDirectory
{
    /// <summary>Ids remembered per host; past this many, the memory starts again (and refills from the storage).</summary>
    private const int Remembered = 500_000;

    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<(IdKind, string), bool>> Found = new();

    public static async Task<bool> Contains(IGrainFactory grains, IdKind kind, string id)
    {
        var found = Found.GetValue(grains, _ => new());
        if (found.ContainsKey((kind, id)))
        {
            return true;
        }

        var (grainId, stateName) = kind switch
        {
            IdKind.Child => (grains.GetGrain<IChildGrain>(id).GetGrainId(), "child"),
            _ => (grains.GetGrain<ISocialWorkerGrain>(id).GetGrainId(), "worker"),
        };
        if (!await grains.GetGrain<IIdDirectoryGrain>(0).IsStored(grainId, stateName))
        {
            return false;
        }

        if (found.Count >= Remembered)
        {
            found.Clear();
        }

        found[(kind, id)] = true;
        return true;
    }
}
