using Allocation.Grains.Boards;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Authority;

[GenerateSerializer]
public sealed class AuthorityState
{
    [Id(0)] public Dictionary<string, string> Teams { get; set; } = new(StringComparer.Ordinal);
}

public sealed class AuthorityGrain(
    [PersistentState("authority", GrainStorage.Name)] IPersistentState<AuthorityState> state,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    IBoardPublisher boards) : Grain, IAuthorityGrain
{
    /// <summary>One deployment serves one authority.</summary>
    public const string Key = "authority";

    // Not persisted: rebuilt from the teams on activation, then kept current by their pushes.
    private readonly Dictionary<string, TeamPressure> _pressure = new(StringComparer.Ordinal);
    private readonly string _epoch = Guid.NewGuid().ToString("N");
    private long _version;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var pressures = await Task.WhenAll(state.State.Teams.Keys.Select(id => GrainFactory.GetGrain<ITeamGrain>(id).GetPressure()));
        foreach (var p in pressures)
        {
            Keep(p);
        }
    }

    public async Task<TeamInfo> UpsertTeam(string teamId, string name)
    {
        var info = await GrainFactory.GetGrain<ITeamGrain>(teamId).Upsert(name);
        if (!state.State.Teams.TryGetValue(teamId, out var known) || known != name)
        {
            state.State.Teams[teamId] = name;
            await state.WriteStateAsync();
        }

        return info;
    }

    public Task<bool> HasTeam(string teamId) => Task.FromResult(state.State.Teams.ContainsKey(teamId));

    public Task<IReadOnlyList<TeamInfo>> ListTeams() => Task.FromResult<IReadOnlyList<TeamInfo>>(
        state.State.Teams.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new TeamInfo(t.Key, t.Value)).ToList());

    public async Task PressureChanged(TeamPressure pressure)
    {
        if (Keep(pressure))
        {
            _version++;
            await boards.Publish(new OverviewDelta(_epoch, _version, pressure, Overview()));
        }
    }

    public Task<AuthorityOverview> GetOverview() => Task.FromResult(Overview());

    public Task<OverviewSnapshot> GetOverviewSnapshot() => Task.FromResult(new OverviewSnapshot(_epoch, _version, Overview()));

    private AuthorityOverview Overview()
    {
        var teams = _pressure.Values.Where(p => state.State.Teams.ContainsKey(p.TeamId)).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var workers = teams.Sum(t => t.Workers);
        var atOrUnder = teams.Sum(t => t.WorkersAtOrUnderCeiling);
        return new AuthorityOverview(
            time.GetUtcNow(), teams, workers, workers == 0 ? 100m : Math.Round(100m * atOrUnder / workers, 1),
            teams.Sum(t => t.OpenChildren), teams.Sum(t => t.Unallocated), teams.Count == 0 ? 0 : teams.Max(t => t.LongestWaitSeconds),
            teams.Sum(t => t.BreachedNow), teams.Sum(t => t.BreachesLast24Hours), teams.Sum(t => t.ChildrenOverWorkerThreshold),
            teams.Sum(t => t.OverridesInForce));
    }

    private bool Keep(TeamPressure pressure)
    {
        if (_pressure.TryGetValue(pressure.TeamId, out var known) && known.Version >= pressure.Version)
        {
            return false;
        }

        _pressure[pressure.TeamId] = pressure;
        return true;
    }
}
