using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Orleans.Concurrency;

namespace Allocation.Grains.Directory;

public enum IdKind
{
    Child,
    Worker,
    Team,
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
/// The existence check the API makes before it touches a child's, a worker's or a team's grain, so an unknown id is
/// answered with 404 and never activates one: for a child or a worker, one indexed read of the grain storage (by grain
/// id, without activating it); for a team, the authority's team list. None is ever deleted, so an id once found is
/// remembered by each host and not looked up again.
/// </summary>
public static class IdDirectory
{
    /// <summary>Ids remembered per host; past this many, the memory starts again (and refills from the storage).</summary>
    private const int Remembered = 500_000;

    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<(IdKind, string), bool>> Known = new();

    public static async Task<bool> Contains(IGrainFactory grains, IdKind kind, string id)
    {
        if (IsFound(grains, kind, id))
        {
            return true;
        }

        var known = kind switch
        {
            IdKind.Child => grains.GetGrain<IIdDirectoryGrain>(0).IsStored(grains.GetGrain<IChildGrain>(id).GetGrainId(), "child"),
            IdKind.Worker => grains.GetGrain<IIdDirectoryGrain>(0).IsStored(grains.GetGrain<ISocialWorkerGrain>(id).GetGrainId(), "worker"),
            _ => grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).HasTeam(id),
        };
        if (!await known)
        {
            return false;
        }

        Found(grains, kind, id);
        return true;
    }

    private static bool IsFound(IGrainFactory grains, IdKind kind, string id) => Remembering(grains).ContainsKey((kind, id));

    /// <summary>Remembers an id known to be stored (found, or just created by a command that succeeded).</summary>
    public static void Found(IGrainFactory grains, IdKind kind, string id)
    {
        var found = Remembering(grains);
        if (found.Count >= Remembered)
        {
            found.Clear();
        }

        found[(kind, id)] = true;
    }

    private static ConcurrentDictionary<(IdKind, string), bool> Remembering(IGrainFactory grains) => Known.GetValue(grains, _ => new());
}
