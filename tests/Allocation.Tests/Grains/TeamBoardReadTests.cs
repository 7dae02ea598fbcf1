using Allocation.Grains.Children;
using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;
using Orleans.Core.Internal;

namespace Allocation.Tests.Grains;

/// <summary>A team board is built once per version and reused while it is fresh; a change is never hidden by it. The
/// board is a projection: a team activated again rebuilds it from its children's and workers' stored facts.</summary>
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

    [Fact]
    public async Task A_team_activated_again_rebuilds_the_same_board_from_its_members_facts_alone()
    {
        var team = await _s.Team();
        var w1 = await _s.Worker("w1", team);
        var w2 = await _s.Worker("w2", team);
        await _s.Allocated("c1", team, w1);
        var moved = await _s.Allocated("c2", team, w1);
        await _s.Child(moved).Reallocate(new ReallocateChild(_s.NewRequestId(), w2, "rebalance", "pm"));
        await _s.Referred("c3", team);
        var closed = await _s.Allocated("c4", team, w2);
        await _s.Child(closed).Close(new CloseChild(_s.NewRequestId(), "case closed", "pm"));
        var before = await _s.TeamGrain(team).GetBoard();

        await _s.TeamGrain(team).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var after = await _s.TeamGrain(team).GetBoard();

        Assert.True(after.Version > before.Version);
        Assert.Equal(Cards(before), Cards(after));
        Assert.Equal(before.Unallocated.Select(q => (q.ChildId, q.Deadline)), after.Unallocated.Select(q => (q.ChildId, q.Deadline)));
        // The clock moved on by a second: the longest wait with it, nothing else.
        Assert.Equal(before.Pressure.LongestWaitSeconds + 1, after.Pressure.LongestWaitSeconds, 3);
        Assert.Equal(before.Pressure with { Version = 0, At = default, LongestWaitSeconds = 0 }, after.Pressure with { Version = 0, At = default, LongestWaitSeconds = 0 });

        static string Cards(TeamBoard board) => string.Join("; ", board.Workers.Select(w => $"{w.WorkerId}:{w.Caseload}/{w.Ceiling}:{string.Join(",", w.Children)}"));
    }

    [Fact]
    public async Task A_deadline_that_passed_while_the_team_was_inactive_is_raised_when_it_activates()
    {
        var team = await _s.Team();
        var child = await _s.Referred("c1", team);
        await _s.TeamGrain(team).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _s.Child(child).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        fixture.Time.Advance(TimeSpan.FromHours(25));

        // What the team's durable reminder does after a restart: wakes the team, which asks its overdue children.
        var breaches = 0;
        for (var i = 0; i < 100 && breaches == 0; i++)
        {
            breaches = (await _s.TeamGrain(team).GetBoard()).RecentBreaches.Count;
            await Task.Delay(20);
        }

        Assert.Equal(1, breaches);
        Assert.True((await _s.View(child)).Clock!.Breached);
    }
}
