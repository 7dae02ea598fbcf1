using System.Text.Json;
using Allocation.Grains.Children;
using Allocation.Tests.Infrastructure;
using RuleNames = Allocation.Grains.Rules;

namespace Allocation.Tests.Grains;

/// <summary>The child's state is kept small in memory; what is stored must read the same before and after.</summary>
[Collection(ClusterCollection.Name)]
public class ChildStateShapeTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Fact]
    public void A_stored_state_with_empty_transfer_and_breach_lists_still_reads()
    {
        const string stored = """
            {"Exists":true,"Status":1,"TeamId":"t1","WorkerId":"w1","Episode":1,"ReferredAt":"2026-01-05T09:00:00+00:00",
             "WorkerHistory":[{"WorkerId":"w1","TeamId":"t1","From":"2026-01-05T10:00:00+00:00","To":null,"Reason":"allocation"}],
             "LastWorkerId":"w1","WorkerChanges":0,"Transfers":[],"Breaches":[],
             "Receipts":[{"RequestId":"r1","Command":"allocate","AppliedAt":"2026-01-05T10:00:00+00:00","WorkerId":"w1","TeamId":"t1","Version":2}],
             "Version":2}
            """;

        var state = JsonSerializer.Deserialize<ChildState>(stored)!;

        Assert.Equal("w1", state.WorkerId);
        Assert.Empty(state.Transfers!);
        Assert.Empty(state.Breaches!);
        Assert.Equal("r1", Assert.Single(state.Receipts).RequestId);
    }

    [Fact]
    public void Unused_lists_are_not_written_and_read_back_as_absent()
    {
        var json = JsonSerializer.Serialize(new ChildState { Exists = true, TeamId = "t1" });

        Assert.DoesNotContain("Transfers", json);
        Assert.DoesNotContain("Breaches", json);
        var state = JsonSerializer.Deserialize<ChildState>(json)!;
        Assert.Null(state.Transfers);
        Assert.Null(state.Breaches);
    }

    [Fact]
    public async Task A_retry_after_the_retry_window_is_evaluated_as_a_new_command()
    {
        var team = await _s.Team();
        var child = _s.Id("c");
        var command = new ReferChild(_s.NewRequestId(), team);
        var first = await _s.Child(child).Refer(command);

        var within = await _s.Child(child).Refer(command);
        fixture.Time.Advance(ChildGrain.ReceiptRetryWindow + TimeSpan.FromMinutes(1));
        var after = await _s.Child(child).Refer(command);

        Assert.Null(first.Refusal);
        Assert.True(within.Replayed);
        Assert.Equal(RuleNames.ChildOpen, after.Refusal!.Rule);
        Assert.Equal(1, (await _s.View(child)).Episode);
    }

    [Fact]
    public async Task A_transfer_and_a_breach_are_recorded_on_a_child_that_had_neither()
    {
        var team = await _s.Team("from");
        var other = await _s.Team("to");
        var child = await _s.Referred("c", team);

        await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), other, "moved area"));
        fixture.Time.Advance(TimeSpan.FromHours(25));
        await _s.Child(child).CheckClock();

        var view = await _s.View(child);
        Assert.Equal(other, Assert.Single(view.Transfers).ToTeamId);
        Assert.Single(view.Breaches);
        Assert.Equal(1, view.TransferPoints);
    }
}
