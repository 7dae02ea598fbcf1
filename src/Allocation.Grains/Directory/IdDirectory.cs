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

    private static readonly ConditionalWeakTable<IGrainFactory, Memory> Known = new();

    /// <summary>The host's memory of the last factory asked for (a process has one, a test cluster a few).</summary>
    private static Memory? _last;

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

    private static bool IsFound(IGrainFactory grains, IdKind kind, string id) => Remembering(grains).Ids.ContainsKey((kind, id));

    /// <summary>Remembers an id known to be stored (found, or just created by a command that succeeded).</summary>
    public static void Found(IGrainFactory grains, IdKind kind, string id)
    {
        // Counted as added, not with the dictionary's Count, which takes every one of its locks (a referral's cost).
        var memory = Remembering(grains);
        if (memory.Ids.TryAdd((kind, id), true) && Interlocked.Increment(ref memory.Count) > Remembered)
        {
            memory.Ids.Clear();
            Interlocked.Exchange(ref memory.Count, 0);
        }
    }

    private static Memory Remembering(IGrainFactory grains)
    {
        var last = _last;
        if (last is not null && ReferenceEquals(last.Factory.Target, grains))
        {
            return last;
        }

        return _last = Known.GetValue(grains, g => new Memory(new WeakReference(g)));
    }

    private sealed class Memory(WeakReference factory)
    {
        public WeakReference Factory { get; } = factory;

        public ConcurrentDictionary<(IdKind, string), bool> Ids { get; } = new();

        public int Count;
    }
}
