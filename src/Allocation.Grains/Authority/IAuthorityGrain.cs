using Allocation.Grains.Teams;

namespace Allocation.Grains.Authority;

/// <summary>The authority: the registry of its teams and the live overview of every team's pressure.</summary>
public interface IAuthorityGrain : IGrainWithStringKey
{
    Task<TeamInfo> UpsertTeam(string teamId, string name);

    [ReadOnly]
    Task<bool> HasTeam(string teamId);

    [ReadOnly]
    Task<IReadOnlyList<TeamInfo>> ListTeams();

    [OneWay]
    Task PressureChanged(TeamPressure pressure);

    [ReadOnly]
    Task<AuthorityOverview> GetOverview();

    /// <summary>The overview with the version its deltas continue from.</summary>
    [ReadOnly]
    Task<Boards.OverviewSnapshot> GetOverviewSnapshot();
}

[GenerateSerializer, Immutable]
public sealed record AuthorityOverview(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] IReadOnlyList<TeamPressure> Teams,
    [property: Id(2)] int Workers,
    [property: Id(3)] decimal PercentAtOrUnderCeiling,
    [property: Id(4)] int OpenChildren,
    [property: Id(5)] int Unallocated,
    [property: Id(6)] double LongestWaitSeconds,
    [property: Id(7)] int BreachedNow,
    [property: Id(8)] int BreachesLast24Hours,
    [property: Id(9)] int ChildrenOverWorkerThreshold,
    [property: Id(10)] int OverridesInForce);
