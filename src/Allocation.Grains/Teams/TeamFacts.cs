using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;

namespace Allocation.Grains.Teams;

/// <summary>
/// Reads the facts a team's board is built from, as their owners stored them: the state of each open child in the
/// team and of each of its workers. The grain storage files every state that belongs to a team under that team
/// (<see cref="ITeamMember"/>), so this is one indexed read; the team itself stores none of it.
/// </summary>
public interface ITeamFacts
{
    Task<TeamFacts> Read(string teamId, CancellationToken cancellationToken = default);
}

public sealed record TeamFacts(
    IReadOnlyList<KeyValuePair<string, ChildState>> Children,
    IReadOnlyList<KeyValuePair<string, SocialWorkerState>> Workers)
{
    public static readonly TeamFacts None = new([], []);
}

/// <summary>A stored state that belongs to a team's board while <see cref="BoardTeam"/> is not null.</summary>
public interface ITeamMember
{
    string? BoardTeam { get; }
}
