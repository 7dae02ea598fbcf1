using Allocation.Grains.Children;

namespace Allocation.Grains.Kpis;

/// <summary>
/// The nightly threshold checks as pure functions: a team's counts from what its grain holds, the KPIs from the
/// counts, their RAG rating against the authority's targets, and the report. No state, clock or I/O here.
/// </summary>
public static class ThresholdChecks
{
    public const int AssessmentWorkingDays = 45;
    public const int SupervisionDays = 42;
    public const int CpPlanMonths = 18;
    public const int CinPlanMonths = 24;

    /// <summary>The team's counts at <paramref name="at"/>; dated checks use the UK calendar date of that instant.</summary>
    public static TeamMeasures Measure(TeamSnapshot team, DateTimeOffset at, AllocationOptions options)
    {
        var today = UkCalendar.DateOf(at);
        var caseloads = new Dictionary<string, int>(StringComparer.Ordinal);
        int unallocated = 0, overThreshold = 0, newlyOver = 0;
        int visitsDue = 0, visitsIn = 0, assessments = 0, assessmentsIn = 0, supervision = 0, supervisionIn = 0;
        int oversight = 0, oversightIn = 0, cp = 0, cpOver = 0, cin = 0, cinOver = 0;
        var longestWait = TimeSpan.Zero;

        foreach (var child in team.Children)
        {
            if (child.WorkerId is { } workerId)
            {
                caseloads[workerId] = caseloads.GetValueOrDefault(workerId) + 1;
            }
            else
            {
                unallocated++;
                var wait = at - child.ClockStartedAt;
                if (wait > longestWait)
                {
                    longestWait = wait;
                }
            }

            if (AllocationRules.IsFlagged(AllocationRules.DistinctWorkers(child.RecentPeriods, at, options.WorkerChangeWindow), options))
            {
                overThreshold++;
                // "New cases crossing 3": over the threshold now, and not a day earlier.
                if (!AllocationRules.IsFlagged(AllocationRules.DistinctWorkers(child.RecentPeriods, at.AddDays(-1), options.WorkerChangeWindow), options))
                {
                    newlyOver++;
                }
            }

            if (child.CaseRecord is not { } record)
            {
                continue;
            }

            // A visit counts once it is due: in timescale if done on or before the day it was due.
            if (record.VisitDueOn is { } due && due <= today)
            {
                visitsDue++;
                if (record.VisitDoneOn is { } done && done <= due)
                {
                    visitsIn++;
                }
            }

            // A completed assessment counts; an open one counts (as late) only once it is past 45 working days.
            if (record.AssessmentStartedOn is { } started)
            {
                if (record.AssessmentCompletedOn is { } completed)
                {
                    assessments++;
                    if (UkCalendar.WorkingDaysBetween(started, completed) <= AssessmentWorkingDays)
                    {
                        assessmentsIn++;
                    }
                }
                else if (UkCalendar.WorkingDaysBetween(started, today) > AssessmentWorkingDays)
                {
                    assessments++;
                }
            }

            // A loaded case record with no supervision or oversight date has none recorded: it counts, as late.
            supervision++;
            if (record.LastSupervisionOn is { } supervised && today.DayNumber - supervised.DayNumber <= SupervisionDays)
            {
                supervisionIn++;
            }

            oversight++;
            if (record.LastManagementOversightOn is { } overseen && today.DayNumber - overseen.DayNumber <= SupervisionDays)
            {
                oversightIn++;
            }

            if (record.Plan == PlanType.ChildProtection)
            {
                cp++;
                if (record.PlanStartedOn is { } cpStart && cpStart.AddMonths(CpPlanMonths) < today)
                {
                    cpOver++;
                }
            }
            else if (record.Plan == PlanType.ChildInNeed)
            {
                cin++;
                if (record.PlanStartedOn is { } cinStart && cinStart.AddMonths(CinPlanMonths) < today)
                {
                    cinOver++;
                }
            }
        }

        // Caseholders as on the board: managers on a ceiling of zero and leavers are not part of the caseload KPI.
        int caseholders = 0, atOrUnder = 0, held = 0, max = 0, overrides = 0;
        decimal filled = 0, agency = 0;
        foreach (var worker in team.Workers)
        {
            if (worker.HasLeft)
            {
                continue;
            }

            overrides += worker.OverridesInForce;
            filled += worker.Fte;
            if (worker.Agency)
            {
                agency += worker.Fte;
            }

            var caseload = caseloads.GetValueOrDefault(worker.WorkerId);
            if (worker.Ceiling > 0 || caseload > 0)
            {
                caseholders++;
                held += caseload;
                max = Math.Max(max, caseload);
                if (caseload <= worker.Ceiling)
                {
                    atOrUnder++;
                }
            }
        }

        var known = team.EstablishmentFte is > 0;
        return new TeamMeasures(
            caseholders, atOrUnder, held, max, overrides,
            team.Children.Count, unallocated, longestWait.TotalHours,
            team.Breaches.Count(b => b.RecordedAt > at.AddDays(-1) && b.RecordedAt <= at),
            team.Breaches.Count(b => b.RecordedAt > at.AddDays(-7) && b.RecordedAt <= at),
            overThreshold, newlyOver,
            known ? team.EstablishmentFte : null, known ? filled : 0, known ? agency : 0,
            visitsDue, visitsIn, assessments, assessmentsIn, supervision, supervisionIn, oversight, oversightIn,
            cp, cpOver, cin, cinOver);
    }

    /// <summary>
    /// Green meets the target; amber misses it by no more than the margin; red misses it by more.
    /// Not rated without a target or without a value.
    /// </summary>
    public static Rag Rate(decimal? value, decimal? target, KpiDirection direction, decimal margin)
    {
        if (value is not { } v || target is not { } t)
        {
            return Rag.None;
        }

        var shortfall = direction == KpiDirection.HigherIsBetter ? t - v : v - t;
        return shortfall <= 0 ? Rag.Green : shortfall <= margin ? Rag.Amber : Rag.Red;
    }

    public static Trend TrendOf(decimal? value, decimal? previous, KpiDirection direction)
    {
        if (value is not { } v || previous is not { } p)
        {
            return Trend.None;
        }

        if (v == p)
        {
            return Trend.Same;
        }

        return (v > p) == (direction == KpiDirection.HigherIsBetter) ? Trend.Better : Trend.Worse;
    }

    /// <summary>Every KPI from the counts, rated against the targets, with last night's value where there was one.</summary>
    public static IReadOnlyList<KpiResult> Evaluate(
        TeamMeasures m, IReadOnlyDictionary<string, KpiTarget>? targets, IReadOnlyList<KpiResult>? previous)
    {
        var results = new List<KpiResult>(KpiCatalog.All.Count);
        foreach (var definition in KpiCatalog.All)
        {
            var (value, numerator, denominator) = Figure(definition.Id, m);
            var own = targets?.GetValueOrDefault(definition.Id);
            var target = own?.Target ?? definition.DefaultTarget;
            var margin = own?.AmberMargin ?? definition.DefaultAmberMargin;
            var before = previous?.FirstOrDefault(p => p.Id == definition.Id);
            results.Add(new KpiResult(
                definition.Id, definition.Title, definition.Unit, definition.Direction, value, target, margin,
                Rate(value, target, definition.Direction, margin), before?.Value, before?.Rag,
                TrendOf(value, before?.Value, definition.Direction), numerator, denominator));
        }

        return results;
    }

    /// <summary>
    /// The night's report: each team's KPIs (teams in id order) and the authority's from the sum of the teams' counts.
    /// The same inputs always give the same report, so a re-run for the same night replaces it with an equal one.
    /// </summary>
    public static ThresholdReport BuildReport(
        DateOnly date,
        DateTimeOffset runAt,
        IReadOnlyList<(string TeamId, string Name, TeamMeasures Measures)> teams,
        IReadOnlyDictionary<string, KpiTarget>? targets,
        ThresholdReport? previous)
    {
        var previousTeams = previous?.Teams.ToDictionary(t => t.TeamId, t => t.Kpis, StringComparer.Ordinal);
        var ordered = teams.OrderBy(t => t.TeamId, StringComparer.Ordinal).ToList();
        var teamReports = ordered
            .Select(t => new TeamKpis(t.TeamId, t.Name, Evaluate(t.Measures, targets, previousTeams?.GetValueOrDefault(t.TeamId))))
            .ToList();
        var authority = Evaluate(TeamMeasures.Combine(ordered.Select(t => t.Measures)), targets, previous?.Authority);
        return new ThresholdReport(date, runAt, authority, teamReports);
    }

    private static (decimal? Value, int? Numerator, int? Denominator) Figure(string id, TeamMeasures m) => id switch
    {
        KpiCatalog.CaseloadsAtOrUnderCeiling => Percent(m.CaseholdersAtOrUnderCeiling, m.Caseholders),
        KpiCatalog.AverageCaseload => (m.Caseholders == 0 ? null : Round((decimal)m.CasesHeld / m.Caseholders), null, null),
        KpiCatalog.MaxCaseload => (m.Caseholders == 0 ? null : m.MaxCaseload, null, null),
        KpiCatalog.OverridesInForce => (m.OverridesInForce, null, null),
        KpiCatalog.UnallocatedNow => (m.Unallocated, null, null),
        KpiCatalog.LongestWaitHours => (Round((decimal)m.LongestWaitHours), null, null),
        KpiCatalog.BreachesLastDay => (m.BreachesLastDay, null, null),
        KpiCatalog.BreachesLastWeek => (m.BreachesLastWeek, null, null),
        KpiCatalog.ChildrenOverThreeWorkers => Percent(m.ChildrenOverWorkerThreshold, m.OpenChildren),
        KpiCatalog.NewlyOverThreeWorkers => (m.NewlyOverWorkerThreshold, null, null),
        KpiCatalog.Vacancy => (m.EstablishmentFte is { } e and > 0 ? Round(100m * Math.Max(0, e - m.FilledFte) / e) : null, null, null),
        KpiCatalog.AgencyShare => (m.EstablishmentFte is > 0 && m.FilledFte > 0 ? Round(100m * m.AgencyFte / m.FilledFte) : null, null, null),
        KpiCatalog.VisitsInTimescale => Percent(m.VisitsInTimescale, m.VisitsDue),
        KpiCatalog.AssessmentsIn45WorkingDays => Percent(m.AssessmentsInTimescale, m.Assessments),
        KpiCatalog.SupervisionIn6Weeks => Percent(m.SupervisionInTimescale, m.SupervisionRecords),
        KpiCatalog.OversightIn6Weeks => Percent(m.OversightInTimescale, m.OversightRecords),
        KpiCatalog.CpPlansOver18Months => Percent(m.CpPlansOver18Months, m.CpPlans),
        KpiCatalog.CinPlansOver2Years => Percent(m.CinPlansOver2Years, m.CinPlans),
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "Unknown KPI."),
    };

    /// <summary>No denominator, no figure: a team with no data for a check is not rated on it.</summary>
    private static (decimal?, int?, int?) Percent(int numerator, int denominator) =>
        denominator == 0 ? (null, numerator, denominator) : (Round(100m * numerator / denominator), numerator, denominator);

    private static decimal Round(decimal value) => Math.Round(value, 1, MidpointRounding.AwayFromZero);
}
