using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Advice;

/// <summary>What an allocation would do, in the shape the allocation answers with (<see cref="Child"/> as the child
/// would then be), with the consequences a manager weighs before committing.</summary>
[GenerateSerializer, Immutable]
public sealed record AllocationPreviewResult(
    [property: Id(0)] ChildView Child,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] int CaseloadAfter,
    [property: Id(3)] int Ceiling,
    [property: Id(4)] bool OverCeilingAfter,
    /// <summary>True when the allocation goes through only with a senior leader's override.</summary>
    [property: Id(5)] bool OverrideNeeded,
    /// <summary>The team's case-holders after the allocation (the figure the share is of).</summary>
    [property: Id(6)] int TeamCaseholders,
    [property: Id(7)] int TeamAtOrUnderCeilingNow,
    [property: Id(8)] decimal TeamPercentAtOrUnderCeilingNow,
    [property: Id(9)] Rag TeamRagNow,
    [property: Id(10)] int TeamAtOrUnderCeilingAfter,
    [property: Id(11)] decimal TeamPercentAtOrUnderCeilingAfter,
    [property: Id(12)] Rag TeamRagAfter,
    [property: Id(13)] int DistinctWorkersNow,
    [property: Id(14)] int DistinctWorkersAfter,
    [property: Id(15)] bool CrossesFlag,
    [property: Id(16)] bool WorkerChange);

/// <summary>Either the refusal the allocation would give, or what it would do.</summary>
public sealed record PreviewOutcome(Refusal? Refusal, AllocationPreviewResult? Preview);

/// <summary>
/// The allocation, evaluated without doing it: the same checks in the same order as <see cref="ChildGrain"/>'s
/// Allocate and the worker's Reserve (through the same <see cref="AllocationRules"/>), from the same facts (the
/// child's and the worker's own views), so the preview and the command cannot disagree. Pure.
/// </summary>
public static class AllocationPreview
{
    public static PreviewOutcome Evaluate(
        string childId, ChildView? child, string workerId, WorkerView? worker, TeamRoster roster,
        CeilingOverride? ceilingOverride, DateTimeOffset now, AllocationOptions options, KpiTarget? caseloadTarget = null)
    {
        if (AllocationRules.CheckAllocatable(childId, child is not null, child?.Status ?? ChildStatus.Unallocated, child?.WorkerId, workerId) is { } refused)
        {
            return new(refused, null);
        }

        if (worker is null)
        {
            return new(Refusal.NotFound($"Worker {workerId} does not exist."), null);
        }

        var holds = worker.Caseload.Any(c => c.ChildId == childId);
        int caseloadAfter;
        bool overAfter;
        if (holds)
        {
            // The worker already holds a place for this child (a reservation the child never recorded): reserved again.
            (caseloadAfter, overAfter) = (worker.CaseloadCount, worker.CaseloadCount > worker.Ceiling);
        }
        else
        {
            if (AllocationRules.CheckAvailable(workerId, worker.TeamId, worker.HasLeft, worker.Absences, child!.TeamId, now) is { } unavailable)
            {
                return new(unavailable, null);
            }

            if (AllocationRules.CheckCapacity(worker.CaseloadCount, worker.Ceiling, ceilingOverride, options) is { } full)
            {
                return new(full, null);
            }

            (caseloadAfter, overAfter) = (worker.CaseloadCount + 1, worker.CaseloadCount + 1 > worker.Ceiling);
        }

        var (holdersNow, atNow, holdersAfter, atAfter) = TeamShare(roster, workerId, worker.Ceiling, childId);
        var percentNow = Percent(atNow, holdersNow);
        var percentAfter = Percent(atAfter, holdersAfter);

        var last = child!.WorkerHistory.Count > 0 ? child.WorkerHistory[^1].WorkerId : null;
        var change = AllocationRules.IsWorkerChange(last, workerId);
        var history = child.WorkerHistory
            .Append(new WorkerPeriod(workerId, child.TeamId, now, null, "allocation", null, null, overAfter && !holds ? ceilingOverride : null))
            .ToList();
        var distinctAfter = AllocationRules.DistinctWorkers(history, now, options.WorkerChangeWindow);
        var flaggedAfter = AllocationRules.IsFlagged(distinctAfter, options);

        var clock = child.Clock;
        if (clock is { StoppedAt: null })
        {
            var breached = clock.Breached || now >= clock.Deadline;
            clock = clock with { Status = ClockStatus.Stopped, StoppedAt = now, SecondsLeft = (clock.Deadline - now).TotalSeconds, Breached = breached };
        }

        var after = child with
        {
            Status = ChildStatus.Allocated,
            WorkerId = workerId,
            AllocatedAt = now,
            Clock = clock,
            WorkerChanges = child.WorkerChanges + (change ? 1 : 0),
            DistinctWorkersLast12Months = distinctAfter,
            Flagged = flaggedAfter,
            WorkerHistory = history,
            Version = child.Version + 1,
        };

        return new(null, new AllocationPreviewResult(
            after, workerId, caseloadAfter, worker.Ceiling, overAfter, overAfter && !holds,
            holdersAfter, atNow, percentNow, AllocationRules.CaseloadShareRag(percentNow, caseloadTarget),
            atAfter, percentAfter, AllocationRules.CaseloadShareRag(percentAfter, caseloadTarget),
            child.DistinctWorkersLast12Months, distinctAfter, flaggedAfter && !child.Flagged, change));
    }

    /// <summary>The team's case-holders and those at or under ceiling, now and with the child added to the worker,
    /// counted as the team's pressure counts them (leavers out; managers on a ceiling of zero out unless they hold cases).</summary>
    public static (int HoldersNow, int AtNow, int HoldersAfter, int AtAfter) TeamShare(TeamRoster roster, string workerId, int workerCeiling, string childId)
    {
        var counts = roster.Children.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!).ToDictionary(g => g.Key, g => g.Count());
        var alreadyHeld = roster.Children.Any(c => c.ChildId == childId && c.WorkerId == workerId);
        int holdersNow = 0, atNow = 0, holdersAfter = 0, atAfter = 0;
        foreach (var w in roster.Workers.Where(w => !w.HasLeft))
        {
            var n = counts.GetValueOrDefault(w.WorkerId);
            var isTarget = w.WorkerId == workerId;
            var after = isTarget && !alreadyHeld ? n + 1 : n;
            var ceilingAfter = isTarget ? workerCeiling : w.Ceiling;
            if (w.Ceiling > 0 || n > 0)
            {
                holdersNow++;
                atNow += n <= w.Ceiling ? 1 : 0;
            }

            if (ceilingAfter > 0 || after > 0)
            {
                holdersAfter++;
                atAfter += after <= ceilingAfter ? 1 : 0;
            }
        }

        return (holdersNow, atNow, holdersAfter, atAfter);
    }

    private static decimal Percent(int part, int whole) => whole == 0 ? 100m : Math.Round(100m * part / whole, 1);
}
