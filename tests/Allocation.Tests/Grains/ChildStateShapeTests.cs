using System.Text.Json;
using Allocation.Grains.Children;
using Allocation.Tests.Infrastructure;
using Allocation.Grains;
using Orleans.Core.Internal;
using Orleans.Storage;
using Microsoft.Extensions.DependencyInjection;
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
        Assert.Equal("r1", Assert.Single(state.Receipts!).RequestId);
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
        fixture.Time.Advance(ICommandReceipts.RetryWindow + TimeSpan.FromMinutes(1));
        var after = await _s.Child(child).Refer(command);

        Assert.Null(first.Refusal);
        Assert.True(within.Replayed);
        Assert.Equal(RuleNames.ChildOpen, after.Refusal!.Rule);
        Assert.Equal(1, (await _s.View(child)).Episode);
    }

    [Fact]
    public async Task A_retry_of_a_command_whose_receipt_left_memory_is_answered_from_the_stored_receipt()
    {
        var (first, second, third) = (await _s.Team("a"), await _s.Team("b"), await _s.Team("c"));
        var child = await _s.Referred("c", first);
        var toSecond = new TransferChild(_s.NewRequestId(), second, "moved area");
        await _s.Child(child).Transfer(toSecond);
        fixture.Time.Advance(TimeSpan.FromMinutes(6)); // past the five minutes a receipt is kept in memory
        await _s.Child(child).Transfer(new TransferChild(_s.NewRequestId(), third, "moved again")); // which pushes it out

        var retried = await _s.Child(child).Transfer(toSecond);

        Assert.True(retried.Replayed);
        Assert.Equal(second, retried.Receipt!.TeamId);
        Assert.Equal((third, 2), ((await _s.View(child)).TeamId, (await _s.View(child)).Transfers.Count));
    }

    [Fact]
    public async Task A_retry_after_the_child_was_deactivated_is_answered_from_the_stored_receipt()
    {
        var (first, second) = (await _s.Team("a"), await _s.Team("b"));
        var child = await _s.Referred("c", first);
        var transfer = new TransferChild(_s.NewRequestId(), second, "moved area");
        await _s.Child(child).Transfer(transfer);
        await _s.Child(child).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        fixture.Time.Advance(TimeSpan.FromHours(23));

        var retried = await _s.Child(child).Transfer(transfer);
        var reused = await _s.Child(child).Close(new CloseChild(transfer.RequestId, "closed", transfer.By));

        Assert.True(retried.Replayed);
        Assert.Equal(RuleNames.RequestIdReused, reused.Refusal!.Rule);
        Assert.Single((await _s.View(child)).Transfers);
    }

    [Fact]
    public async Task Receipts_an_earlier_version_kept_in_the_childs_row_still_answer_retries_and_move_to_rows_of_their_own()
    {
        var (first, second) = (await _s.Team("a"), await _s.Team("b"));
        var child = await _s.Referred("c", first);
        await _s.Child(child).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        // The row as an earlier version wrote it: a transfer's receipt in the child's state, and no receipt row.
        var storage = fixture.Cluster.Silos[0].SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);
        var grainId = _s.Child(child).GetGrainId();
        var row = new GrainState<ChildState>();
        await storage.ReadStateAsync("child", grainId, row);
        var transfer = new TransferChild("legacy-transfer", second, "moved area");
        row.State!.Receipts = [new CommandReceipt(transfer.RequestId, "transfer", fixture.Time.GetUtcNow(), null, second, row.State.Version, null)];
        await storage.WriteStateAsync("child", grainId, row);

        var fromRow = await _s.Child(child).Transfer(transfer);
        await _s.Child(child).UpdateCaseRecord(new UpdateCaseRecord(_s.NewRequestId(), new CaseRecord())); // a write: the receipt moves
        await _s.Child(child).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var fromReceiptRow = await _s.Child(child).Transfer(transfer);

        Assert.True(fromRow.Replayed);
        Assert.True(fromReceiptRow.Replayed);
        Assert.Equal(first, (await _s.View(child)).TeamId);
        Assert.NotNull(await ((ICommandReceipts)storage).FindReceipt(grainId, transfer.RequestId));
        await storage.ReadStateAsync("child", grainId, row);
        Assert.Null(row.State!.Receipts);
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
    [Fact]
    public void Children_loaded_and_changed_apart_share_one_instance_of_each_id()
    {
        // Built at run time, so that no two are the same instance to begin with (as the deserializer gives them).
        string Fresh(string s) => new(s.AsSpan());
        ChildState Loaded() => new()
        {
            Exists = true, TeamId = Fresh("shape-team"), WorkerId = Fresh("shape-worker"), LastWorkerId = Fresh("shape-worker"),
            WorkerHistory = [new WorkerPeriod(Fresh("shape-worker"), Fresh("shape-team"), DateTimeOffset.UnixEpoch, null, "allocation", Fresh("shape-manager"))],
        };

        var first = Loaded();
        var second = Loaded();
        Assert.NotSame(first.TeamId, second.TeamId);
        first.Compact();
        second.Compact();
        var changed = Loaded();
        changed.ShareNewest();
        var receipt = ChildStateCompaction.SharedIds(new CommandReceipt("r", Fresh("allocate"), DateTimeOffset.UnixEpoch, Fresh("shape-worker"), Fresh("shape-team"), 2, Fresh("shape-manager")));

        Assert.Same(first.TeamId, second.TeamId);
        Assert.Same(first.TeamId, changed.TeamId);
        Assert.Same(first.TeamId, receipt.TeamId);
        Assert.Same(first.WorkerId, second.WorkerHistory[0].WorkerId);
        Assert.Same(first.WorkerId, changed.LastWorkerId);
        Assert.Same(first.WorkerId, receipt.WorkerId);
        Assert.Same(first.WorkerHistory[0].By, changed.WorkerHistory[0].By);
        Assert.Same(first.WorkerHistory[0].By, receipt.By);
        Assert.Equal("shape-team", first.TeamId);
    }
}
