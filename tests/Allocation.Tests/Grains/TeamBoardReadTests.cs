using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Grains;

/// <summary>A team board is built once per version and reused while it is fresh; a change is never hidden by it.</summary>
[Collection(ClusterCollection.Name)]
public class TeamBoardReadTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Fact]
    public async Task Reads_of_an_unchanged_board_reuse_it_and_a_change_shows_at_once()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w1", team);
        var first = await _s.TeamGrain(team).GetBoard();
        var again = await _s.TeamGrain(team).GetBoard();

        var child = await _s.Allocated("c1", team, worker);
        var changed = await _s.TeamGrain(team).GetBoard();

        Assert.Equal(first.Version, again.Version);
        Assert.Equal(first.At, again.At);
        Assert.True(changed.Version > first.Version);
        Assert.Equal([child], Assert.Single(changed.Workers).Children);
    }

    [Fact]
    public async Task A_board_is_rebuilt_once_it_is_older_than_a_second_so_clocks_move()
    {
        var team = await _s.Team();
        var child = await _s.Referred("c1", team);
        var before = await _s.TeamGrain(team).GetBoard();

        fixture.Time.Advance(TeamGrain.BoardFreshFor + TimeSpan.FromSeconds(5));
        var after = await _s.TeamGrain(team).GetBoard();

        Assert.Equal(before.Version, after.Version);
        Assert.True(after.At > before.At);
        var waiting = Assert.Single(after.Unallocated);
        Assert.Equal(child, waiting.ChildId);
        Assert.True(waiting.SecondsLeft < Assert.Single(before.Unallocated).SecondsLeft);
    }
}
