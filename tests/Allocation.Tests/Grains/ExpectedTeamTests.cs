using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using RuleNames = Allocation.Grains.Rules;

namespace Allocation.Tests.Grains;

/// <summary>The API checks a user's access against the child (or worker) as it read it, then sends the command; the
/// grain applies it only if the child is still in that team with that worker, so a child moved in between cannot be
/// changed by its old team's manager.</summary>
[Collection(ClusterCollection.Name)]
public class ExpectedTeamTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Fact]
    public async Task A_command_checked_against_the_team_a_child_has_left_is_refused_and_changes_nothing()
    {
        var teamA = await _s.Team("a");
        var teamB = await _s.Team("b");
        var workerA = await _s.Worker("wa", teamA);
        var child = await _s.Allocated("c", teamA, workerA);
        var seenByManagerA = ChildExpectation.Of(await _s.View(child));
        Assert.Null((await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), teamB, "moved area", "pm-b"))).Refusal);

        var close = await _s.Child(child).Close(new CloseChild(_s.NewRequestId(), "no further action", "pm-a", seenByManagerA));
        var transfer = await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), teamA, "back", "pm-a", seenByManagerA));
        var record = await _s.Child(child).UpdateCaseRecord(new UpdateCaseRecord(_s.NewRequestId(), new CaseRecord(), "pm-a", seenByManagerA));

        Assert.All([close, transfer, record], r => Assert.Equal(RuleNames.ChildChanged, r.Refusal?.Rule));
        Assert.DoesNotContain(teamB, close.Refusal!.Detail);
        var now = await _s.View(child);
        Assert.Equal((ChildStatus.Unallocated, teamB, 1), (now.Status, now.TeamId, now.TransferPoints));
    }

    [Fact]
    public async Task A_reallocation_checked_against_a_worker_the_child_no_longer_has_is_refused()
    {
        var team = await _s.Team();
        var first = await _s.Worker("w1", team);
        var second = await _s.Worker("w2", team);
        var third = await _s.Worker("w3", team);
        var child = await _s.Allocated("c", team, first);
        var seen = ChildExpectation.Of(await _s.View(child));
        Assert.Null((await _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), second, "rebalanced", "pm"))).Refusal);

        var late = await _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), third, "rebalanced", "pm", null, seen));

        Assert.Equal(RuleNames.ChildChanged, late.Refusal?.Rule);
        Assert.Equal(second, (await _s.View(child)).WorkerId);
        Assert.Equal(0, (await _s.WorkerView(third)).CaseloadCount);
    }

    [Fact]
    public async Task Leave_checked_against_the_team_a_worker_has_left_is_refused()
    {
        var teamA = await _s.Team("a");
        var teamB = await _s.Team("b");
        var worker = await _s.Worker("w", teamA);
        Assert.Null((await _s.WorkerGrain(worker).Upsert(new UpsertWorker("w", teamB, WorkerRole.SocialWorker, 1m))).Refusal);

        var leave = await _s.WorkerGrain(worker).Leave(new LeaveService(_s.NewRequestId(), "left", null, "pm-a", ExpectedTeamId: teamA));
        var absence = await _s.WorkerGrain(worker).StartAbsence(
            new StartAbsence(_s.NewRequestId(), fixture.Time.GetUtcNow(), null, "sick", null, "pm-a", ExpectedTeamId: teamA));

        Assert.Equal((RuleNames.WorkerChanged, RuleNames.WorkerChanged), (leave.Refusal?.Rule, absence.Refusal?.Rule));
        var now = await _s.WorkerView(worker);
        Assert.False(now.HasLeft);
        Assert.Empty(now.Absences);
    }

    [Fact]
    public async Task A_command_from_a_manager_of_another_team_is_refused_by_the_child_and_changes_nothing()
    {
        var teamA = await _s.Team("a");
        var teamB = await _s.Team("b");
        var workerA = await _s.Worker("wa", teamA);
        var spare = await _s.Worker("wa2", teamA);
        var allocated = await _s.Allocated("c1", teamA, workerA);
        var waiting = await _s.Referred("c2", teamA);
        var closed = await _s.Referred("c3", teamA);
        Assert.Null((await _s.Child(closed).Close(new CloseChild(_s.NewRequestId(), "no further action", "pm-a"))).Refusal);
        var managerB = new CommandAccess(false, [teamB]);

        var results = new[]
        {
            await _s.Child(waiting).Allocate(new AllocateChild(_s.NewRequestId(), workerA, "pm-b", Access: managerB)),
            await _s.Child(allocated).Reallocate(new ReallocateChild(_s.NewRequestId(), spare, "rebalanced", "pm-b", Access: managerB)),
            await _s.Child(allocated).Transfer(new TransferChild(_s.NewRequestId(), teamB, "ours now", "pm-b", Access: managerB)),
            await _s.Child(allocated).Close(new CloseChild(_s.NewRequestId(), "no further action", "pm-b", Access: managerB)),
            await _s.Child(closed).Refer(new ReferChild(_s.NewRequestId(), teamB, "pm-b", Access: managerB)),
        };

        Assert.All(results, r => Assert.Equal(RefusalKind.Forbidden, r.Refusal?.Kind));
        Assert.Equal([RuleNames.TeamNotYours, RuleNames.TeamNotYours, RuleNames.TeamNotYours, RuleNames.TeamNotYours, RuleNames.ChildNotYours],
            results.Select(r => r.Refusal!.Rule));
        Assert.All(results, r => Assert.Null(r.Before));
        Assert.DoesNotContain(teamA, results[^1].Refusal!.Detail);
        Assert.Equal((ChildStatus.Allocated, teamA, workerA), ((await _s.View(allocated)).Status, (await _s.View(allocated)).TeamId, (await _s.View(allocated)).WorkerId));
        Assert.Equal((ChildStatus.Unallocated, null), ((await _s.View(waiting)).Status, (await _s.View(waiting)).WorkerId));
        Assert.Equal((ChildStatus.Closed, teamA), ((await _s.View(closed)).Status, (await _s.View(closed)).TeamId));
        Assert.Equal(1, (await _s.WorkerView(workerA)).CaseloadCount);
        Assert.Equal(0, (await _s.WorkerView(spare)).CaseloadCount);
    }

    [Fact]
    public async Task The_childs_own_manager_and_a_leader_are_let_through_with_the_place_the_command_found()
    {
        var teamA = await _s.Team("a");
        var teamB = await _s.Team("b");
        var worker = await _s.Worker("w", teamA);
        var child = await _s.Referred("c", teamA);
        var fresh = _s.Id("new");

        var allocate = await _s.Child(child).Allocate(new AllocateChild(_s.NewRequestId(), worker, "pm-a", Access: new CommandAccess(false, [teamB, teamA])));
        var transfer = await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), teamB, "moved area", "leader", Access: new CommandAccess(true, [])));
        var refer = await _s.Child(fresh).Refer(new ReferChild(_s.NewRequestId(), teamB, "pm-b", Access: new CommandAccess(false, [teamB])));

        Assert.Equal((null, null, null), (allocate.Refusal, transfer.Refusal, refer.Refusal));
        Assert.Equal(new ChildExpectation(teamA, null), allocate.Before);
        Assert.Equal(new ChildExpectation(teamA, worker), transfer.Before);
        Assert.Null(refer.Before);
        Assert.Equal((teamB, ChildStatus.Unallocated), ((await _s.View(child)).TeamId, (await _s.View(child)).Status));
    }

    [Fact]
    public async Task A_retry_after_the_child_left_the_managers_team_is_refused_not_answered_from_its_receipt()
    {
        var teamA = await _s.Team("a");
        var teamB = await _s.Team("b");
        var worker = await _s.Worker("w", teamA);
        var child = await _s.Referred("c", teamA);
        var managerA = new CommandAccess(false, [teamA]);
        var requestId = _s.NewRequestId();
        Assert.Null((await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm-a", Access: managerA))).Refusal);
        Assert.Null((await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), teamB, "moved area", "leader"))).Refusal);

        var retry = await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm-a", Access: managerA));

        Assert.Equal((RuleNames.TeamNotYours, false, null), (retry.Refusal?.Rule, retry.Replayed, retry.Child));
    }

    [Fact]
    public async Task A_receipt_answers_only_the_user_whose_command_it_was()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var child = await _s.Referred("c", team);
        var requestId = _s.NewRequestId();
        Assert.Null((await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm-1"))).Refusal);

        var mine = await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm-1"));
        var theirs = await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm-2"));

        Assert.True(mine.Replayed);
        Assert.Equal(RuleNames.RequestIdReused, theirs.Refusal?.Rule);
        Assert.Null(theirs.Child);
    }
}
