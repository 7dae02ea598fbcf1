namespace Allocation.Grains.Boards;

/// <summary>How grains push board changes. One per silo; it fans out to every registered host.</summary>
public interface IBoardPublisher
{
    Task Publish(TeamBoardDelta delta);

    Task Publish(WorkerBoardDelta delta);

    Task Publish(OverviewDelta delta);

    Task Publish(ReportSaved notice);

    /// <summary>Forget the cached host list (a host has just registered here).</summary>
    void Invalidate();
}

/// <summary>
/// Sends each change to every live host's observer, one-way. The host list is cached for a few seconds so a
/// publish costs no extra grain call; a host that joins is seen within that time (its own silo at once).
/// </summary>
internal sealed class ObserverBoardPublisher(IGrainFactory grains, TimeProvider time) : IBoardPublisher
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private IReadOnlyList<IBoardObserver> _observers = [];
    private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;

    public async Task Publish(TeamBoardDelta delta)
    {
        foreach (var observer in await Observers())
        {
            _ = observer.TeamBoardChanged(delta);
        }
    }

    public async Task Publish(WorkerBoardDelta delta)
    {
        foreach (var observer in await Observers())
        {
            _ = observer.WorkerBoardChanged(delta);
        }
    }

    public async Task Publish(OverviewDelta delta)
    {
        foreach (var observer in await Observers())
        {
            _ = observer.OverviewChanged(delta);
        }
    }

    public async Task Publish(ReportSaved notice)
    {
        foreach (var observer in await Observers())
        {
            _ = observer.ReportSaved(notice);
        }
    }

    public void Invalidate() => _fetchedAt = DateTimeOffset.MinValue;

    private async ValueTask<IReadOnlyList<IBoardObserver>> Observers()
    {
        var now = time.GetUtcNow();
        // No host yet (this silo's own registers as it starts) is asked again next time, not cached: a change made in
        // the first seconds would otherwise reach no host at all.
        if (now - _fetchedAt > CacheFor || _observers.Count == 0)
        {
            _observers = await grains.GetGrain<IBoardHostsGrain>(BoardHostsGrain.Key).GetObservers();
            _fetchedAt = now;
        }

        return _observers;
    }
}
