using Allocation.Grains;
using RuleNames = Allocation.Grains.Rules;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;
using Orleans.Core.Internal;
using Orleans.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Tests.Grains;

[Collection(ClusterCollection.Name)]
public class AllocationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Fact]
    public async Task Referral_starts_a_24_hour_clock_and_queues_the_child_on_the_team_board()
    {
        var team = await _s.Team();
        var child = await _s.Referred("c1", team);

        var view = await _s.View(child);
        Assert.Equal(ChildStatus.Unallocated, view.Status);
        Assert.Equal(fixture.Time.GetUtcNow() + TimeSpan.FromHours(24), view.Clock!.Deadline);
        Assert.Equal(ClockStatus.Green, view.Clock.Status);
        var board = await _s.TeamGrain(team).GetBoard();
        Assert.Equal(child, Assert.Single(board.Unallocated).ChildId);
    }

    [Fact]
    public async Task Allocation_stops_the_clock_and_puts_the_child_on_the_caseload()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w1", team);
        var child = await _s.Allocated("c1", team, worker);

        var view = await _s.View(child);
        Assert.Equal(ChildStatus.Allocated, view.Status);
        Assert.Equal(worker, view.WorkerId);
        Assert.Equal(ClockStatus.Stopped, view.Clock!.Status);
        Assert.Equal(0, view.WorkerChanges);
        Assert.Equal([child], (await _s.WorkerView(worker)).Caseload.Select(c => c.ChildId));
        var board = await _s.TeamGrain(team).GetBoard();
        Assert.Empty(board.Unallocated);
        Assert.Equal(1, Assert.Single(board.Workers).Caseload);
    }

    [Fact]
    public async Task A_worker_activated_again_reads_its_caseload_from_its_childrens_records_and_still_keeps_the_ceiling()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w1", team, ceiling: 3);
        var held = new[] { await _s.Allocated("c1", team, worker), await _s.Allocated("c2", team, worker), await _s.Allocated("c3", team, worker) };
        var overridden = await _s.Referred("c4", team);
        Assert.Null((await _s.Allocate(overridden, worker, new CeilingOverride("hos", "sibling group"))).Refusal);
        Assert.Null((await _s.Child(held[0]).Close(new CloseChild(_s.NewRequestId(), "case closed", "pm"))).Refusal);

        // The worker stores no places: a new activation has only the children's own records to go on.
        await _s.WorkerGrain(worker).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var view = await _s.WorkerView(worker);

        Assert.Equal(new[] { held[1], held[2], overridden }.Order().ToArray(), view.Caseload.Select(c => c.ChildId).Order().ToArray());
        Assert.Equal(new CeilingOverride("hos", "sibling group"), view.Caseload.Single(c => c.ChildId == overridden).Override);
        Assert.Equal(1, view.OverridesInForce);
        var refused = await _s.Allocate(await _s.Referred("c5", team), worker);
        Assert.Equal(RuleNames.Ceiling, refused.Refusal?.Rule);
        var card = (await _s.TeamGrain(team).GetBoard()).Workers.Single(w => w.WorkerId == worker);
        Assert.Equal((3, 1), (card.Caseload, card.OverridesInForce));
    }

    [Fact]
    public async Task A_place_the_workers_memory_does_not_know_of_still_keeps_the_ceiling_when_the_childs_write_is_stored()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w1", team, ceiling: 1);
        // Another activation of the worker (a second silo's, during a membership change) gave c1 the last place:
        // c1's row says so, and this activation's memory does not.
        var elsewhere = await _s.Referred("c1", team);
        await _s.Child(elsewhere).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var storage = fixture.Cluster.Silos[0].SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var row = new GrainState<ChildState>();
        await storage.ReadStateAsync("child", _s.Child(elsewhere).GetGrainId(), row);
        (row.State!.Status, row.State.WorkerId) = (ChildStatus.Allocated, worker);
        row.State.WorkerHistory.Add(new WorkerPeriod(worker, team, fixture.Time.GetUtcNow(), null, "allocation", "pm"));
        await storage.WriteStateAsync("child", _s.Child(elsewhere).GetGrainId(), row);
        Assert.Equal(0, (await _s.WorkerView(worker)).CaseloadCount);

        // The worker reserves a place it does not have; the storage refuses the child's write, which changes nothing.
        var child = await _s.Referred("c2", team);
        var command = new AllocateChild(_s.NewRequestId(), worker, "pm");
        await Assert.ThrowsAnyAsync<Exception>(() => _s.Child(child).Allocate(command));
        Assert.Equal(ChildStatus.Unallocated, (await _s.View(child)).Status);

        // The worker has read its stored places again: the retry is refused by the ceiling.
        Assert.Equal([elsewhere], (await _s.WorkerView(worker)).Caseload.Select(c => c.ChildId));
        Assert.Equal(RuleNames.Ceiling, (await _s.Child(child).Allocate(command)).Refusal?.Rule);
    }

    [Fact]
    public async Task Allocation_over_ceiling_is_refused_with_rule_and_numbers()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("nqsw", team, WorkerRole.NewlyQualified, fte: 0.5m); // ceiling 6
        for (var i = 0; i < 6; i++)
        {
            await _s.Allocated($"c{i}", team, worker);
        }

        var extra = await _s.Referred("extra", team);
        var result = await _s.Allocate(extra, worker);

        Assert.NotNull(result.Refusal);
        Assert.Equal(RuleNames.Ceiling, result.Refusal.Rule);
        Assert.Equal(6m, result.Refusal.Figures!["current"]);
        Assert.Equal(6m, result.Refusal.Figures["ceiling"]);
        Assert.Equal(ChildStatus.Unallocated, (await _s.View(extra)).Status);
        Assert.Equal(6, (await _s.WorkerView(worker)).CaseloadCount);
    }

    [Fact]
    public async Task Override_above_ceiling_is_recorded_on_the_child_the_worker_and_the_board()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 1);
        await _s.Allocated("c1", team, worker);
        var child = await _s.Referred("c2", team);

        var result = await _s.Allocate(child, worker, new CeilingOverride("hos-1", "keeps siblings together"));

        Assert.Null(result.Refusal);
        Assert.Equal("hos-1", result.Child!.WorkerHistory[^1].Override!.By);
        var w = await _s.WorkerView(worker);
        Assert.Equal(2, w.CaseloadCount);
        Assert.Equal(1, w.OverridesInForce);
        var card = Assert.Single((await _s.TeamGrain(team).GetBoard()).Workers);
        Assert.Equal(1, card.OverridesInForce);
        Assert.Contains("keeps siblings together", (await _s.TeamGrain(team).GetBoard()).Feed[0].Text);
    }

    [Fact]
    public async Task Worker_cards_have_room_below_ceiling_minus_two_are_near_then_full_and_managers_hold_none()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 4);
        var manager = await _s.Worker("pm", team, WorkerRole.PracticeManager);
        var expected = new[] { CapacityStatus.Room, CapacityStatus.Room, CapacityStatus.Near, CapacityStatus.Near, CapacityStatus.Full };
        for (var caseload = 0; caseload <= 4; caseload++)
        {
            if (caseload > 0)
            {
                await _s.Allocated($"c{caseload}", team, worker);
            }

            var board = await _s.TeamGrain(team).GetBoard();
            Assert.Equal(expected[caseload], board.Workers.Single(w => w.WorkerId == worker).Capacity);
            Assert.Equal(CapacityStatus.None, board.Workers.Single(w => w.WorkerId == manager).Capacity);
            Assert.Equal(TimeSpan.FromHours(8).TotalSeconds, board.AmberThresholdSeconds);
            Assert.Equal(fixture.Time.GetUtcNow(), board.Pressure.At);
        }
    }

    [Fact]
    public async Task Allocation_to_a_worker_of_another_team_is_refused()
    {
        var team = await _s.Team("a");
        var other = await _s.Team("b");
        var worker = await _s.Worker("w", other);
        var child = await _s.Referred("c", team);

        var result = await _s.Allocate(child, worker);

        Assert.Equal(RuleNames.WrongTeam, result.Refusal!.Rule);
    }

    [Fact]
    public async Task Allocating_an_allocated_child_is_refused_and_reallocation_to_the_same_worker_is_not_a_change()
    {
        var team = await _s.Team();
        var w1 = await _s.Worker("w1", team);
        var w2 = await _s.Worker("w2", team);
        var child = await _s.Allocated("c", team, w1);

        Assert.Equal(RuleNames.AlreadyAllocated, (await _s.Allocate(child, w2)).Refusal!.Rule);
        var same = await _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), w1, "no-op"));
        Assert.Equal(RuleNames.SameWorker, same.Refusal!.Rule);
        Assert.Equal(0, (await _s.View(child)).WorkerChanges);
    }

    [Fact]
    public async Task Reallocation_moves_the_child_counts_a_change_and_frees_the_old_place()
    {
        var team = await _s.Team();
        var w1 = await _s.Worker("w1", team);
        var w2 = await _s.Worker("w2", team);
        var child = await _s.Allocated("c", team, w1);

        var result = await _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), w2, "caseload rebalanced", "pm-1"));

        Assert.Null(result.Refusal);
        var view = result.Child!;
        Assert.Equal(w2, view.WorkerId);
        Assert.Equal(1, view.WorkerChanges);
        Assert.Equal(2, view.DistinctWorkersLast12Months);
        Assert.Equal("caseload rebalanced", view.WorkerHistory[0].EndReason);
        Assert.Equal("pm-1", view.WorkerHistory[1].By);
        Assert.Equal(0, (await _s.WorkerView(w1)).CaseloadCount);
        Assert.Equal(1, (await _s.WorkerView(w2)).CaseloadCount);
    }

    [Fact]
    public async Task More_than_three_workers_in_twelve_months_is_flagged()
    {
        var team = await _s.Team();
        var workers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            workers.Add(await _s.Worker($"w{i}", team));
        }

        var child = await _s.Allocated("c", team, workers[0]);
        for (var i = 1; i < 4; i++)
        {
            fixture.Time.Advance(TimeSpan.FromDays(10));
            var moved = await _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), workers[i], "change"));
            Assert.Null(moved.Refusal);
            Assert.Equal(i + 1 > 3, moved.Child!.Flagged);
        }

        var view = await _s.View(child);
        Assert.Equal(3, view.WorkerChanges);
        Assert.Equal(4, view.DistinctWorkersLast12Months);
        Assert.True(view.Flagged);
    }

    [Fact]
    public async Task Transfer_is_a_transfer_point_that_restarts_the_clock_in_the_new_team()
    {
        var from = await _s.Team("from");
        var to = await _s.Team("to");
        var worker = await _s.Worker("w", from);
        var child = await _s.Allocated("c", from, worker);
        fixture.Time.Advance(TimeSpan.FromHours(3));

        var result = await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), to, "stepped up to CP"));

        var view = result.Child!;
        Assert.Equal(to, view.TeamId);
        Assert.Equal(ChildStatus.Unallocated, view.Status);
        Assert.Equal(1, view.TransferPoints);
        Assert.Equal(fixture.Time.GetUtcNow() + TimeSpan.FromHours(24), view.Clock!.Deadline);
        Assert.Equal("transfer", view.Clock.Reason);
        Assert.Equal(0, (await _s.WorkerView(worker)).CaseloadCount);
        Assert.Empty((await _s.TeamGrain(from).GetBoard()).Workers.Single().Children);
        Assert.Equal(child, Assert.Single((await _s.TeamGrain(to).GetBoard()).Unallocated).ChildId);
    }

    [Fact]
    public async Task Closing_frees_the_place_and_re_referral_opens_a_new_episode_keeping_history()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 1);
        var child = await _s.Allocated("c", team, worker);

        var closed = await _s.Child(child).Close(new CloseChild(_s.NewRequestId(), "no further action"));
        Assert.Equal(ChildStatus.Closed, closed.Child!.Status);
        Assert.Equal(0, (await _s.WorkerView(worker)).CaseloadCount);
        Assert.Equal(RuleNames.ChildClosed, (await _s.Allocate(child, worker)).Refusal!.Rule);

        var other = await _s.Allocated("other", team, worker); // the freed place is usable
        Assert.Equal(worker, (await _s.View(other)).WorkerId);

        var again = await _s.Child(child).Refer(new ReferChild(_s.NewRequestId(), team));
        Assert.Equal(2, again.Child!.Episode);
        Assert.Equal(ChildStatus.Unallocated, again.Child.Status);
        Assert.Single(again.Child.WorkerHistory);
        Assert.Equal("closed", again.Child.WorkerHistory[0].EndReason);
    }

    [Fact]
    public async Task Each_closure_is_recorded_once_for_the_team_it_closed_in_even_when_retried()
    {
        var team = await _s.Team();
        var other = await _s.Team("other");
        var worker = await _s.Worker("w", team);
        var child = await _s.Allocated("c", team, worker);
        var since = fixture.Time.GetUtcNow();

        var close = new CloseChild(_s.NewRequestId(), "no further action");
        Assert.Null((await _s.Child(child).Close(close)).Refusal);
        Assert.Null((await _s.Child(child).Close(close)).Refusal); // the same request again: its receipt, not a second closure
        fixture.Time.Advance(TimeSpan.FromHours(1));
        Assert.Null((await _s.Child(child).Refer(new ReferChild(_s.NewRequestId(), other))).Refusal);
        Assert.Null((await _s.Child(child).Close(new CloseChild(_s.NewRequestId(), "moved away"))).Refusal);

        var first = Assert.Single(await fixture.ClosedCases.ReadClosed(team, since));
        Assert.Equal(child, first.Summary.ChildId);
        Assert.Equal(worker, Assert.Single(first.Summary.RecentPeriods).WorkerId);
        Assert.Equal(since, first.ClosedAt);
        var second = Assert.Single(await fixture.ClosedCases.ReadClosed(other, since));
        Assert.Equal(since + TimeSpan.FromHours(1), second.ClosedAt);
        Assert.Empty(await fixture.ClosedCases.ReadClosed(team, since + TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Referring_an_open_child_again_is_refused()
    {
        var team = await _s.Team();
        var child = await _s.Referred("c", team);
        var result = await _s.Child(child).Refer(new ReferChild(_s.NewRequestId(), team));
        Assert.Equal(RuleNames.ChildOpen, result.Refusal!.Rule);
    }

    [Fact]
    public async Task Retried_command_is_applied_once_and_returns_the_first_result()
    {
        var team = await _s.Team();
        var w1 = await _s.Worker("w1", team);
        var w2 = await _s.Worker("w2", team);
        var child = await _s.Allocated("c", team, w1);
        var command = new ReallocateChild(_s.NewRequestId(), w2, "rebalance");

        var first = await _s.Child(child).Reallocate(command);
        var retry = await _s.Child(child).Reallocate(command);

        Assert.False(first.Replayed);
        Assert.True(retry.Replayed);
        Assert.Equal(first.Receipt, retry.Receipt);
        var view = await _s.View(child);
        Assert.Equal(1, view.WorkerChanges);
        Assert.Equal(2, view.WorkerHistory.Count);
        Assert.Equal(1, (await _s.WorkerView(w2)).CaseloadCount);
    }

    [Fact]
    public async Task A_request_id_reused_for_another_command_is_refused()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var child = await _s.Referred("c", team);
        var requestId = _s.NewRequestId();
        Assert.Null((await _s.Child(child).Allocate(new AllocateChild(requestId, worker))).Refusal);

        var reused = await _s.Child(child).Close(new CloseChild(requestId, "oops"));

        Assert.Equal(RuleNames.RequestIdReused, reused.Refusal!.Rule);
        Assert.Equal(ChildStatus.Allocated, (await _s.View(child)).Status);
    }

    [Fact]
    public async Task Fifty_concurrent_allocations_for_the_last_place_allocate_exactly_one()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 3);
        await _s.Allocated("a", team, worker);
        await _s.Allocated("b", team, worker);
        var children = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            children.Add(await _s.Referred($"race{i}", team));
        }

        var results = await Task.WhenAll(children.Select(c => _s.Allocate(c, worker)));

        Assert.Equal(1, results.Count(r => r.Refusal is null));
        Assert.All(results.Where(r => r.Refusal is not null), r => Assert.Equal(RuleNames.Ceiling, r.Refusal!.Rule));
        Assert.Equal(3, (await _s.WorkerView(worker)).CaseloadCount);
        var allocated = 0;
        foreach (var c in children)
        {
            allocated += (await _s.View(c)).Status == ChildStatus.Allocated ? 1 : 0;
        }

        Assert.Equal(1, allocated);
    }

    [Fact]
    public async Task Concurrent_allocations_of_one_child_to_different_workers_allocate_it_once()
    {
        var team = await _s.Team();
        var workers = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            workers.Add(await _s.Worker($"w{i}", team));
        }

        var child = await _s.Referred("c", team);
        var results = await Task.WhenAll(workers.Select(w => _s.Allocate(child, w)));

        Assert.Equal(1, results.Count(r => r.Refusal is null));
        var held = 0;
        foreach (var w in workers)
        {
            held += (await _s.WorkerView(w)).CaseloadCount;
        }

        Assert.Equal(1, held);
    }
}
