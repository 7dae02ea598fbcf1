using Allocation.Grains;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Storage;
using RuleNames = Allocation.Grains.Rules;

namespace Allocation.Tests.Grains;

/// <summary>A worker's receipts work as a child's do (one component, <see cref="Receipts"/>): each is a row of its
/// own, stored by the write that applied its command, and answers retries for the retry window, not for ever.</summary>
[Collection(ClusterCollection.Name)]
public class WorkerReceiptTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    private IGrainStorage Storage => fixture.Cluster.Silos[0].SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    [Fact]
    public async Task A_retry_within_the_window_is_answered_and_after_it_is_a_new_command()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var command = new StartAbsence(_s.NewRequestId(), fixture.Time.GetUtcNow().AddDays(2), null, "annual leave");

        var first = await _s.WorkerGrain(worker).StartAbsence(command);
        var within = await _s.WorkerGrain(worker).StartAbsence(command);
        fixture.Time.Advance(ICommandReceipts.RetryWindow + TimeSpan.FromMinutes(1));
        var after = await _s.WorkerGrain(worker).StartAbsence(command);

        Assert.Null(first.Refusal);
        Assert.True(within.Replayed);
        Assert.Null(after.Refusal);
        Assert.False(after.Replayed);
        Assert.Equal(2, (await _s.WorkerView(worker)).Absences.Count);
    }

    [Fact]
    public async Task A_receipt_is_a_row_of_its_own_and_answers_a_retry_after_the_worker_was_deactivated()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var leave = new LeaveService(_s.NewRequestId(), "moved to another authority", By: "pm-1");
        Assert.Null((await _s.WorkerGrain(worker).Leave(leave)).Refusal);
        await _s.WorkerGrain(worker).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        fixture.Time.Advance(TimeSpan.FromHours(23));

        var retried = await _s.WorkerGrain(worker).Leave(leave);
        var reused = await _s.WorkerGrain(worker).StartAbsence(
            new StartAbsence(leave.RequestId, fixture.Time.GetUtcNow(), null, "sick", By: "pm-1"));

        Assert.True(retried.Replayed);
        Assert.Equal(RuleNames.RequestIdReused, reused.Refusal!.Rule);
        var grainId = _s.WorkerGrain(worker).GetGrainId();
        var receipt = await ((ICommandReceipts)Storage).FindReceipt(grainId, leave.RequestId);
        Assert.Equal(("leave", "pm-1"), (receipt!.Command, receipt.By));
        var row = new GrainState<SocialWorkerState>();
        await Storage.ReadStateAsync("worker", grainId, row);
        Assert.True(row.State!.HasLeft);
        Assert.Null(row.State.Receipts);
    }

    [Fact]
    public async Task Receipts_an_earlier_version_kept_in_the_workers_row_still_answer_retries_and_move_to_rows_of_their_own()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var absence = new StartAbsence("legacy-absence", fixture.Time.GetUtcNow().AddDays(3), null, "annual leave");
        await _s.WorkerGrain(worker).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        // The row as an earlier version wrote it: the absence, its receipt in the worker's state, and no receipt row.
        var grainId = _s.WorkerGrain(worker).GetGrainId();
        var row = new GrainState<SocialWorkerState>();
        await Storage.ReadStateAsync("worker", grainId, row);
        row.State!.Absences.Add(new Absence(absence.From, null, absence.Reason));
        row.State.Receipts = [new CommandReceipt(absence.RequestId, "absence", fixture.Time.GetUtcNow(), worker, team, 0, null)];
        await Storage.WriteStateAsync("worker", grainId, row);

        var fromRow = await _s.WorkerGrain(worker).StartAbsence(absence);
        // A write that applies no command of its own: the old receipt moves to a row with it.
        Assert.Null((await _s.WorkerGrain(worker).Upsert(new UpsertWorker("w", team, WorkerRole.SocialWorker, 0.8m))).Refusal);
        await _s.WorkerGrain(worker).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var fromReceiptRow = await _s.WorkerGrain(worker).StartAbsence(absence);

        Assert.True(fromRow.Replayed);
        Assert.True(fromReceiptRow.Replayed);
        Assert.Single((await _s.WorkerView(worker)).Absences);
        Assert.NotNull(await ((ICommandReceipts)Storage).FindReceipt(grainId, absence.RequestId));
        await Storage.ReadStateAsync("worker", grainId, row);
        Assert.Null(row.State!.Receipts);
    }
}
