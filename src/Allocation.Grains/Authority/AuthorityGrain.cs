using Allocation.Grains.Teams;

namespace Allocation.Grains.Authority;

[GenerateSerializer]
public sealed class AuthorityState
{
    [Id(0)] public Dictionary<string, string> Teams { get; set; } = new(StringComparer.Ordinal);
}

public sealed class AuthorityGrain(
    [PersistentState("authority", GrainStorage.Name)] IPersistentState<AuthorityState> state,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time) : Grain, IAuthorityGrain
{
    /// <summary>One deployment serves one authority.</summary>
    public const string Key = "authority";

    // Not persisted: rebuilt from the teams on activation, then kept current by their pushes.
    private readonly Dictionary<string, TeamPressure> _pressure = new(StringComparer.Ordinal);

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

    public Task PressureChanged(TeamPressure pressure)
    {
        Keep(pressure);
        return Task.CompletedTask;
    }

    public Task<AuthorityOverview> GetOverview()
    {
        var teams = _pressure.Values.Where(p => state.State.Teams.ContainsKey(p.TeamId)).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var workers = teams.Sum(t => t.Workers);
        var atOrUnder = teams.Sum(t => t.WorkersAtOrUnderCeiling);
        return Task.FromResult(new AuthorityOverview(
            time.GetUtcNow(), teams, workers, workers == 0 ? 100m : Math.Round(100m * atOrUnder / workers, 1),
            teams.Sum(t => t.OpenChildren), teams.Sum(t => t.Unallocated), teams.Count == 0 ? 0 : teams.Max(t => t.LongestWaitSeconds),
            teams.Sum(t => t.BreachedNow), teams.Sum(t => t.BreachesLast24Hours), teams.Sum(t => t.ChildrenOverWorkerThreshold),
            teams.Sum(t => t.OverridesInForce)));
    }

    private void Keep(TeamPressure pressure)
    {
        if (!_pressure.TryGetValue(pressure.TeamId, out var known) || known.Version <= pressure.Version)
        {
            _pressure[pressure.TeamId] = pressure;
        }
    }
}
