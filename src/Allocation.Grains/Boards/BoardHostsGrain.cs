namespace Allocation.Grains.Boards;

/// <summary>Not persisted: after a restart every live host registers again within its refresh period.</summary>
public sealed class BoardHostsGrain(TimeProvider time) : Grain, IBoardHostsGrain
{
    public const string Key = "boards";

    /// <summary>Hosts refresh every <see cref="RefreshPeriod"/>; three missed refreshes and a host is presumed dead.</summary>
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (IBoardObserver Observer, DateTimeOffset Seen)> _hosts = new(StringComparer.Ordinal);

    public Task Register(string hostId, IBoardObserver observer)
    {
        _hosts[hostId] = (observer, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task Unregister(string hostId)
    {
        _hosts.Remove(hostId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<IBoardObserver>> GetObservers()
    {
        var cutoff = time.GetUtcNow() - 3 * RefreshPeriod;
        foreach (var dead in _hosts.Where(h => h.Value.Seen < cutoff).Select(h => h.Key).ToList())
        {
            _hosts.Remove(dead);
        }

        return Task.FromResult<IReadOnlyList<IBoardObserver>>(_hosts.Values.Select(h => h.Observer).ToList());
    }
}
