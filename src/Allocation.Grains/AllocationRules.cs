using Allocation.Grains.Children;
using Allocation.Grains.Kpis;

namespace Allocation.Grains;

/// <summary>
/// The allocation rules as pure functions. Grains call these; nothing here touches state, time or I/O,
/// so every rule is unit-tested on its own.
/// </summary>
public static class AllocationRules
{
    /// <summary>
    /// Caps on the lists a grain keeps for ever, far above any real case (a child with a thousand allocations or two
    /// hundred transfers, a worker with two hundred spells of leave), so that repeated commands cannot grow one grain's
    /// state, which is read and written whole, without bound. A command that would pass a cap is refused.
    /// </summary>
    public const int MaxWorkerPeriods = 1000, MaxTransfers = 200, MaxAbsences = 200;

    /// <summary>A refusal when a list already holds <paramref name="cap"/> items, or null.</summary>
    public static Refusal? CheckRecordCap(string what, int count, int cap) =>
        count < cap
            ? null
            : Refusal.Conflict(Rules.RecordFull, $"This record already holds {count} {what}, the most it keeps.",
                new Dictionary<string, decimal> { ["count"] = count, ["cap"] = cap });

    /// <summary>
    /// A worker's ceiling: an explicit per-worker ceiling wins; otherwise the role's full-time ceiling pro rata
    /// by FTE, rounded down (0.5 FTE of 18 is 9; 0.8 of 18 is 14).
    /// </summary>
    public static int Ceiling(WorkerRole role, decimal fte, int? explicitCeiling, AllocationOptions options)
    {
        if (explicitCeiling is { } c)
        {
            return c;
        }

        var fullTime = options.CeilingFor(role);
        return (int)Math.Floor(fullTime * Math.Clamp(fte, 0m, 1m));
    }

    /// <summary>
    /// Whether one more child fits under the ceiling. Over the ceiling an override with a named user and a reason
    /// is needed, and only where the authority allows overrides.
    /// </summary>
    public static Refusal? CheckCapacity(int current, int ceiling, CeilingOverride? ceilingOverride, AllocationOptions options)
    {
        if (current + 1 <= ceiling)
        {
            return null;
        }

        var figures = new Dictionary<string, decimal> { ["current"] = current, ["ceiling"] = ceiling, ["after"] = current + 1 };
        if (ceilingOverride is null)
        {
            return Refusal.Conflict(Rules.Ceiling,
                $"Allocation would take the worker to {current + 1} children, over their ceiling of {ceiling} (currently {current}).",
                figures);
        }

        if (!options.AllowCeilingOverride)
        {
            return Refusal.Conflict(Rules.OverrideNotAllowed,
                $"This authority does not allow allocation above the ceiling of {ceiling} (currently {current}).", figures);
        }

        if (string.IsNullOrWhiteSpace(ceilingOverride.By) || string.IsNullOrWhiteSpace(ceilingOverride.Reason))
        {
            return Refusal.Invalid(Rules.OverrideIncomplete, "An override above the ceiling needs the overriding user and a reason.");
        }

        return null;
    }

    /// <summary>
    /// Whether a worker may take a child of <paramref name="childTeamId"/> at all, whatever their caseload: not once
    /// they have left, not from another team, not while on leave. The worker grain checks this before reserving a
    /// place, and the allocation preview asks the same question.
    /// </summary>
    public static Refusal? CheckAvailable(
        string workerId, string workerTeamId, bool hasLeft, IEnumerable<Absence> absences, string childTeamId, DateTimeOffset now)
    {
        if (hasLeft)
        {
            return Refusal.Conflict(Rules.WorkerLeft, $"Worker {workerId} has left the service.");
        }

        if (workerTeamId != childTeamId)
        {
            return Refusal.Conflict(Rules.WrongTeam, $"Worker {workerId} is in team {workerTeamId}, not in the child's team {childTeamId}.");
        }

        return AbsenceAt(absences, now) is { } absence
            ? Refusal.Conflict(Rules.WorkerAbsent,
                $"Worker {workerId} is absent ({absence.Reason}) from {absence.From:yyyy-MM-dd}" + (absence.To is { } to ? $" to {to:yyyy-MM-dd}." : "."))
            : null;
    }

    /// <summary>
    /// Whether a child in this state can be allocated (not re-allocated) to <paramref name="workerId"/>: it must be
    /// open and waiting. The child grain checks this first; the allocation preview asks the same question.
    /// </summary>
    public static Refusal? CheckAllocatable(string childId, bool exists, ChildStatus status, string? currentWorkerId, string workerId)
    {
        if (!exists)
        {
            return Refusal.NotFound($"Child {childId} has not been referred.");
        }

        if (status == ChildStatus.Closed)
        {
            return Refusal.Conflict(Rules.ChildClosed, $"Child {childId}'s case is closed; refer the child again to open a new episode.");
        }

        return status == ChildStatus.Allocated
            ? Refusal.Conflict(Rules.AlreadyAllocated,
                currentWorkerId == workerId
                    ? $"Child {childId} is already allocated to {currentWorkerId}."
                    : $"Child {childId} is already allocated to {currentWorkerId}; re-allocate it to change worker.")
            : null;
    }

    /// <summary>
    /// The colour of a team's share of caseholders at or under their ceiling, rated as the nightly report rates
    /// <see cref="KpiCatalog.CaseloadsAtOrUnderCeiling"/>: its target (85%) and amber margin (5 points), or the
    /// authority's own where it sets them, so the boards, the report, the preview and the forecast give it one colour.
    /// </summary>
    public static Rag CaseloadShareRag(decimal percentAtOrUnderCeiling, KpiTarget? own = null)
    {
        var kpi = KpiCatalog.Find(KpiCatalog.CaseloadsAtOrUnderCeiling)!;
        return ThresholdChecks.Rate(percentAtOrUnderCeiling, own?.Target ?? kpi.DefaultTarget, kpi.Direction, own?.AmberMargin ?? kpi.DefaultAmberMargin, kpi.Rule);
    }

    /// <summary>Whether the worker is on leave at the given time.</summary>
    public static Absence? AbsenceAt(IEnumerable<Absence> absences, DateTimeOffset at) =>
        absences.FirstOrDefault(a => a.From <= at && (a.To is null || at < a.To));

    /// <summary>
    /// The 24-hour clock's colour: green with more than the amber threshold left, amber at or under it,
    /// red once the deadline has passed.
    /// </summary>
    public static ClockStatus Clock(DateTimeOffset deadline, DateTimeOffset now, TimeSpan amberThreshold)
    {
        var left = deadline - now;
        if (left <= TimeSpan.Zero)
        {
            return ClockStatus.Red;
        }

        return left <= amberThreshold ? ClockStatus.Amber : ClockStatus.Green;
    }

    /// <summary>
    /// Distinct workers the child had in the rolling window ending now: every allocation period that overlaps the
    /// window counts its worker once.
    /// </summary>
    public static int DistinctWorkers(IEnumerable<WorkerPeriod> history, DateTimeOffset now, TimeSpan window)
    {
        // A loop, not LINQ: a team's pressure counts this for every child on every change, and histories are short.
        var from = now - window;
        var periods = history as IReadOnlyList<WorkerPeriod> ?? history.ToList();
        var distinct = 0;
        for (var i = 0; i < periods.Count; i++)
        {
            if (!InWindow(periods[i]))
            {
                continue;
            }

            var seen = false;
            for (var j = 0; j < i && !seen; j++)
            {
                seen = InWindow(periods[j]) && string.Equals(periods[j].WorkerId, periods[i].WorkerId, StringComparison.Ordinal);
            }

            distinct += seen ? 0 : 1;
        }

        return distinct;

        bool InWindow(WorkerPeriod p) => (p.To is null || p.To >= from) && p.From <= now;
    }

    /// <summary>The open period a child has with this worker: the last of its periods, while it has not ended and is
    /// the worker's; null otherwise. The place the child holds on the worker's caseload dates from it, and carries its
    /// override above the ceiling, if any.</summary>
    public static WorkerPeriod? CurrentPeriodWith(IReadOnlyList<WorkerPeriod> periods, string workerId) =>
        periods is [.., { To: null } current] && current.WorkerId == workerId ? current : null;

    /// <summary>Whether an allocation to <paramref name="newWorkerId"/> is a change of worker: the first allocation
    /// is not, nor is a return to the worker the child last had.</summary>
    public static bool IsWorkerChange(string? lastWorkerId, string newWorkerId) =>
        lastWorkerId is not null && !string.Equals(lastWorkerId, newWorkerId, StringComparison.Ordinal);

    public static bool IsFlagged(int distinctWorkers, AllocationOptions options) =>
        distinctWorkers > options.WorkerChangeFlagThreshold;
}
