using Allocation.Grains;
using RuleNames = Allocation.Grains.Rules;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using Orleans.Core.Internal;

namespace Allocation.Tests.Grains;

[Collection(ClusterCollection.Name)]
public class ClockAndAbsenceTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Fact]
    public async Task Clock_turns_amber_at_eight_hours_left_and_a_breach_is_recorded_on_child_and_team_at_the_deadline()
    {
        var team = await _s.Team();
        var pm = await _s.Worker("pm", team, WorkerRole.PracticeManager);
        var child = await _s.Referred("c", team);

        fixture.Time.Advance(TimeSpan.FromHours(16));
        Assert.Equal(ClockStatus.Amber, (await _s.View(child)).Clock!.Status);

        fixture.Time.Advance(TimeSpan.FromHours(8));
        await _s.Child(child).CheckClock(); // what the durable reminder does at the deadline

        var view = await _s.View(child);
        Assert.Equal(ClockStatus.Red, view.Clock!.Status);
        Assert.True(view.Clock.Breached);
        Assert.Single(view.Breaches);
        var board = await _s.TeamGrain(team).GetBoard();
        var breach = Assert.Single(board.RecentBreaches);
        Assert.Equal(child, breach.ChildId);
        Assert.Contains(pm, breach.EscalatedTo);
        Assert.Contains("head-of-service", breach.EscalatedTo);
        Assert.Equal(1, board.Pressure.BreachedNow);

        await _s.Child(child).CheckClock(); // a second (late or repeated) reminder does not record it twice
        Assert.Single((await _s.View(child)).Breaches);
    }

    [Fact]
    public async Task An_imported_child_keeps_its_clock_and_a_late_first_allocation_is_a_breach()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var now = fixture.Time.GetUtcNow();
        var waiting = _s.Id("imported-waiting");
        var late = _s.Id("imported-late");

        Assert.Null((await _s.Child(waiting).Import(new ImportChild(team, now.AddHours(-2), now.AddHours(-2), []))).Refusal);
        Assert.Null((await _s.Child(late).Import(new ImportChild(team, now.AddHours(-30), now.AddHours(-30),
            [new WorkerPeriod(worker, team, now.AddHours(-4), null, "allocation")]))).Refusal);

        var clock = (await _s.View(waiting)).Clock!;
        Assert.Equal(now.AddHours(22), clock.Deadline);
        Assert.Equal("referral", clock.Reason);
        Assert.False(clock.Breached);
        var breach = Assert.Single((await _s.View(late)).Breaches);
        Assert.Equal(now.AddHours(-6), breach.Deadline);
        Assert.True((await _s.View(late)).Clock!.Breached);
    }

    [Fact]
    public async Task Allocation_after_a_breach_keeps_the_breach_on_the_record()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var child = await _s.Referred("c", team);
        fixture.Time.Advance(TimeSpan.FromHours(30));

        var result = await _s.Allocate(child, worker);

        Assert.Null(result.Refusal);
        Assert.True(result.Child!.Clock!.Breached);
        Assert.Equal(ClockStatus.Stopped, result.Child.Clock.Status);
        Assert.Single(result.Child.Breaches);
    }

    [Fact]
    public async Task Absence_returns_children_to_the_queue_with_new_clocks_and_blocks_new_allocations()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var c1 = await _s.Allocated("c1", team, worker);
        var c2 = await _s.Allocated("c2", team, worker);
        var now = fixture.Time.GetUtcNow();

        var result = await Staffing.StartAbsence(_s.Grains, worker, new StartAbsence(_s.NewRequestId(), now, now.AddDays(14), "long-term sick"));

        Assert.Null(result.Refusal);
        Assert.Equal(2, result.Moved.Count);
        Assert.All(result.Moved, m => Assert.Equal(ReleaseKind.Queued, m.Kind));
        Assert.Equal(0, (await _s.WorkerView(worker)).CaseloadCount);
        foreach (var c in new[] { c1, c2 })
        {
            var view = await _s.View(c);
            Assert.Equal(ChildStatus.Unallocated, view.Status);
            Assert.Equal(now + TimeSpan.FromHours(24), view.Clock!.Deadline);
        }

        var c3 = await _s.Referred("c3", team);
        Assert.Equal(RuleNames.WorkerAbsent, (await _s.Allocate(c3, worker)).Refusal!.Rule);
        Assert.Equal(2, (await _s.TeamGrain(team).GetBoard()).Pressure.Unallocated - 1);
    }

    [Fact]
    public async Task Leaving_moves_children_to_a_named_worker_and_each_move_counts_as_a_change()
    {
        var team = await _s.Team();
        var leaver = await _s.Worker("leaver", team);
        var colleague = await _s.Worker("colleague", team);
        var c1 = await _s.Allocated("c1", team, leaver);

        var result = await Staffing.Leave(_s.Grains, leaver, new LeaveService(_s.NewRequestId(), "resigned", colleague, "pm-1"));

        Assert.Equal(ReleaseKind.Moved, Assert.Single(result.Moved).Kind);
        var view = await _s.View(c1);
        Assert.Equal(colleague, view.WorkerId);
        Assert.Equal(1, view.WorkerChanges);
        Assert.True((await _s.WorkerView(leaver)).HasLeft);
        Assert.Equal(1, (await _s.WorkerView(colleague)).CaseloadCount);
        var c2 = await _s.Referred("c2", team);
        Assert.Equal(RuleNames.WorkerLeft, (await _s.Allocate(c2, leaver)).Refusal!.Rule);
    }

    [Fact]
    public async Task A_move_the_named_worker_cannot_take_goes_to_the_queue_with_the_reason()
    {
        var team = await _s.Team();
        var leaver = await _s.Worker("leaver", team);
        var full = await _s.Worker("full", team, ceiling: 0);
        var child = await _s.Allocated("c", team, leaver);

        var result = await Staffing.Leave(_s.Grains, leaver, new LeaveService(_s.NewRequestId(), "retired", full));

        var moved = Assert.Single(result.Moved);
        Assert.Equal(ReleaseKind.Queued, moved.Kind);
        Assert.Equal(RuleNames.Ceiling, moved.MoveRefused!.Rule);
        Assert.Equal(ChildStatus.Unallocated, (await _s.View(child)).Status);
    }

    [Fact]
    public async Task A_reservation_the_child_never_recorded_is_released_when_the_worker_reactivates()
    {
        // The state a crash leaves between the worker's write and the child's: the worker holds a place for a
        // child that is not allocated to it.
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 2);
        var kept = await _s.Allocated("kept", team, worker);
        var orphan = await _s.Referred("orphan", team);
        var reservation = await _s.WorkerGrain(worker).Reserve(new ReservePlace(orphan, team, "lost-request", null));
        Assert.Null(reservation.Refusal);
        Assert.Equal(2, (await _s.WorkerView(worker)).CaseloadCount); // counted against the ceiling meanwhile

        await _s.WorkerGrain(worker).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var caseload = await Eventually(async () => (await _s.WorkerView(worker)).Caseload.Select(c => c.ChildId).ToList(), c => c.Count == 1);

        Assert.Equal([kept], caseload);
        Assert.Equal(ChildStatus.Unallocated, (await _s.View(orphan)).Status);
        Assert.Null((await _s.Allocate(orphan, worker)).Refusal); // the place is free again
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}

[Collection(RealTimeClusterCollection.Name)]
public class DurableReminderTests(RealTimeClusterFixture fixture)
{
    [Fact]
    public async Task The_durable_reminder_records_a_breach_with_nobody_looking()
    {
        var s = new Scenario(fixture.Grains);
        var team = await s.Team();
        var child = await s.Referred("c", team);

        // Nothing calls the child after referral: only the team's watch on its clocks can record the breach.
        Assert.Equal(1, await BreachesSeen(s, team, within: RealTimeClusterFixture.Window + TimeSpan.FromSeconds(20)));
        Assert.Single((await s.View(child)).Breaches);
    }

    [Fact]
    public async Task A_child_referred_after_the_queue_emptied_is_watched_by_the_clock_timer_again()
    {
        var s = new Scenario(fixture.Grains);
        var team = await s.Team();
        var worker = await s.Worker("w", team);
        await s.Allocated("first", team, worker);
        // The timer armed for the first child's deadline fires with nobody waiting, and is left unarmed.
        await Task.Delay(RealTimeClusterFixture.Window + TimeSpan.FromSeconds(1));

        var child = await s.Referred("second", team);

        // Well before the team's reminder (a minute after the team was made) could look: only the timer can.
        Assert.Equal(1, await BreachesSeen(s, team, within: RealTimeClusterFixture.Window + TimeSpan.FromSeconds(8)));
        Assert.Single((await s.View(child)).Breaches);
    }

    /// <summary>The breaches on the team's board once there is one, or when <paramref name="within"/> has passed.</summary>
    private static async Task<int> BreachesSeen(Scenario s, string team, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var breaches = 0;
        while (breaches == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            breaches = (await s.TeamGrain(team).GetBoard()).RecentBreaches.Count;
        }

        return breaches;
    }
}
