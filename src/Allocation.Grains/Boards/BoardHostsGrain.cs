namespace Allocation.Grains.Boards;

[GenerateSerializer]
public sealed class BoardHostsState
{
    /// <summary>Observer grain ids by host id.</summary>
    [Id(0)]
    public Dictionary<string, string> Hosts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The live web hosts. Persisted, so a silo going down with this grain on it does not leave the survivors' boards
/// without observers until their next refresh. Hosts refresh every <see cref="RefreshPeriod"/>; a host not heard
/// from for three periods is dropped. While a silo joins, this grain can briefly exist on two silos and a
/// registration can land in the copy that is then dropped: the next refresh puts it right.
/// </summary>
public sealed class BoardHostsGrain(
    [PersistentState("board-hosts", GrainStorage.Name)] IPersistentState<BoardHostsState> state,
    TimeProvider time) : Grain, IBoardHostsGrain
{
    public const string Key = "boards";

    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(10);

    // Last heard from, in memory only: hosts loaded from storage get a full grace period to refresh.
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var host in state.State.Hosts.Keys)
        {
            _seen[host] = time.GetUtcNow();
        }

        return Task.CompletedTask;
    }

    public async Task Register(string hostId, IBoardObserver observer)
    {
        _seen[hostId] = time.GetUtcNow();
        var id = observer.GetGrainId().ToString();
        if (!state.State.Hosts.TryGetValue(hostId, out var known) || known != id)
        {
            state.State.Hosts[hostId] = id;
            await state.WriteStateAsync();
        }
    }

    public async Task Unregister(string hostId)
    {
        _seen.Remove(hostId);
        if (state.State.Hosts.Remove(hostId))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task<IReadOnlyList<IBoardObserver>> GetObservers()
    {
        var cutoff = time.GetUtcNow() - 3 * RefreshPeriod;
        var dead = state.State.Hosts.Keys.Where(h => _seen.GetValueOrDefault(h) < cutoff).ToList();
        if (dead.Count > 0)
        {
            foreach (var host in dead)
            {
                state.State.Hosts.Remove(host);
                _seen.Remove(host);
            }

            await state.WriteStateAsync();
        }

        return state.State.Hosts.Values.Select(id => GrainFactory.GetGrain<IBoardObserver>(GrainId.Parse(id))).ToList();
    }
}
