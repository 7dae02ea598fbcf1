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

    /// <summary>How often changed teams' pressures go out to the leaders' boards: every team change arrives here, and
    /// the overview (a sum over every team) is built once per round instead of once per change.</summary>
    public static readonly TimeSpan PublishEvery = TimeSpan.FromMilliseconds(200);

    // Not persisted: rebuilt from the teams when first needed, then kept current by their pushes.
    private readonly Dictionary<string, TeamPressure> _pressure = new(StringComparer.Ordinal);
    private readonly string _epoch = Guid.NewGuid().ToString("N");
    private readonly Dictionary<string, TeamPressure> _unpublished = new(StringComparer.Ordinal);
    private Task? _loaded;
    private IGrainTimer? _publishTimer;
    private long _version;

    /// <summary>
    /// Asks every team for its pressure, once per activation, and only when the overview is wanted. Activation itself
    /// stays cheap: the authority is activated by every request that checks a team exists, and at national size
    /// (2,500 teams, each reading its board from the database) the fan-out took 10-16 s of a cold start.
    /// </summary>
    private Task EnsurePressures() =>
        _loaded is { IsFaulted: false, IsCanceled: false } ? _loaded : _loaded = LoadPressures();   // a failed load is tried again

    private async Task LoadPressures()
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
        await EnsurePressures();
        if (Keep(pressure))
        {
            if (_unpublished.Count == 0)
            {
                _publishTimer ??= this.RegisterGrainTimer(PublishChanges, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _publishTimer.Change(PublishEvery, Timeout.InfiniteTimeSpan);
            }

            _unpublished[pressure.TeamId] = pressure;
        }
    }

    /// <summary>One delta per team changed since the last round, each with its newest pressure and the overview as it now is.</summary>
    private async Task PublishChanges(CancellationToken cancellationToken)
    {
        var overview = Overview();
        var changed = _unpublished.Values.ToList();
        _unpublished.Clear();
        foreach (var pressure in changed)
        {
            _version++;
            await boards.Publish(new OverviewDelta(_epoch, _version, pressure, overview));
        }
    }

    public async Task<AuthorityOverview> GetOverview()
    {
        await EnsurePressures();
        return Overview();
    }

    public async Task<OverviewSnapshot> GetOverviewSnapshot()
    {
        await EnsurePressures();
        return new OverviewSnapshot(_epoch, _version, Overview());
    }

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
