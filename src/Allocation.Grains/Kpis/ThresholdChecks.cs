using Allocation.Grains.Children;
using Allocation.Grains.Teams;

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

    /// <summary>The reporting period of the "completed in the period" KPIs: the 30 days to the night of the report.</summary>
    public const int ReportingPeriodDays = 30;

    /// <summary>
    /// The team's counts at <paramref name="at"/>, and for each KPI the children or workers behind it, from the same
    /// pass: a count is always the length of its list. Dated checks use the UK calendar date of that instant.
    /// </summary>
    public static TeamMeasures Measure(TeamSnapshot team, DateTimeOffset at, AllocationOptions options)
    {
        var today = UkCalendar.DateOf(at);
        var t = new Tallies();
        var caseloads = new Dictionary<string, int>(StringComparer.Ordinal);
        var closed = team.Closed ?? [];

        // KPI 1's cohorts: children referred in a calendar quarter, each followed for the 12 months from referral.
        // The latest quarter whose every child has had those 12 months, and the quarter before it.
        var (cohortFrom, cohortTo) = CohortQuarter(today);
        var (priorFrom, priorTo) = (cohortFrom.AddMonths(-3), cohortFrom);
        var periodFrom = today.AddDays(-ReportingPeriodDays);

        // Open children and the team's closed cases alike: a case closed before its 12 months, its referral or its
        // assessment still counts in the period it belongs to.
        foreach (var child in team.Children.Select(c => (Summary: c, Open: true)).Concat(closed.Select(c => (c.Summary, Open: false))))
        {
            var c = child.Summary;
            if (c.ReferredAt is { } referredAt)
            {
                var referred = UkCalendar.DateOf(referredAt);
                var inCohort = referred >= cohortFrom && referred < cohortTo;
                if (inCohort || (referred >= priorFrom && referred < priorTo))
                {
                    var workers = AllocationRules.DistinctWorkers(c.RecentPeriods, referredAt.AddMonths(12), referredAt.AddMonths(12) - referredAt);
                    var over = AllocationRules.IsFlagged(workers, options);
                    if (inCohort)
                    {
                        t.Count(KpiCatalog.NewCasesOverThreeWorkers, over, c.ChildId, $"{workers} social workers in 12 months from referral on {referred:yyyy-MM-dd}");
                    }
                    else
                    {
                        t.Prior(KpiCatalog.NewCasesOverThreeWorkers, over);
                    }
                }

                if (referredAt > at.AddMonths(-12) && referredAt <= at)
                {
                    var previous = c.PreviousReferredAt is { } p ? UkCalendar.DateOf(p) : c.CaseRecord?.PreviousReferralOn;
                    var again = previous is { } before && before >= referred.AddMonths(-12) && before < referred;
                    t.Count(KpiCatalog.ReReferralsWithin12Months, again, c.ChildId, $"referred {referred:yyyy-MM-dd}, previous referral {previous:yyyy-MM-dd}");
                }
            }

            // Assessments completed in the reporting period, open or closed since.
            if (c.CaseRecord is { AssessmentStartedOn: { } started, AssessmentCompletedOn: { } completed } assessed
                && completed > periodFrom && completed <= today)
            {
                var days = UkCalendar.WorkingDaysBetween(started, completed);
                t.Meets(KpiCatalog.AssessmentsIn45WorkingDays, days <= AssessmentWorkingDays, c.ChildId, $"completed {completed:yyyy-MM-dd} in {days} working days");
                t.Meets(KpiCatalog.ChildrenSeenInAssessment, assessed.ChildSeen == true, c.ChildId,
                    assessed.ChildSeen is null ? "not recorded" : "not seen");
                t.Meets(KpiCatalog.ChildrenSeenAloneInAssessment, assessed.ChildSeenAlone == true, c.ChildId,
                    assessed.ChildSeenAlone is null ? "not recorded" : "not seen alone");
            }

            if (child.Open)
            {
                MeasureOpen(c, at, today, options, t, caseloads);
            }
        }

        MeasureWorkers(team, today, t, caseloads);
        t.Count(KpiCatalog.BreachesLastDay, team.Breaches.Where(b => b.RecordedAt > at.AddDays(-1) && b.RecordedAt <= at), b => b.ChildId, b => $"breached {b.Deadline:yyyy-MM-dd HH:mm} UTC");
        t.Count(KpiCatalog.BreachesLastWeek, team.Breaches.Where(b => b.RecordedAt > at.AddDays(-7) && b.RecordedAt <= at), b => b.ChildId, b => $"breached {b.Deadline:yyyy-MM-dd HH:mm} UTC");
        return t.Build();
    }

    /// <summary>The latest calendar quarter whose children have all had 12 months since referral by <paramref name="today"/>, [from, to).</summary>
    public static (DateOnly From, DateOnly To) CohortQuarter(DateOnly today)
    {
        var yearAgo = today.AddMonths(-12);
        var to = new DateOnly(yearAgo.Year, ((yearAgo.Month - 1) / 3 * 3) + 1, 1);
        return (to.AddMonths(-3), to);
    }

    private static void MeasureOpen(TeamChildSummary c, DateTimeOffset at, DateOnly today, AllocationOptions options, Tallies t, Dictionary<string, int> caseloads)
    {
        if (c.WorkerId is { } workerId)
        {
            caseloads[workerId] = caseloads.GetValueOrDefault(workerId) + 1;
        }
        else
        {
            var wait = at - c.ClockStartedAt;
            t.Count(KpiCatalog.UnallocatedNow, true, c.ChildId, $"waiting {wait.TotalHours:0.#} hours");
            t.Max(KpiCatalog.LongestWaitHours, Round((decimal)wait.TotalHours), c.ChildId, wait >= options.AllocationWindow - options.AmberThreshold, $"waiting {wait.TotalHours:0.#} hours");
        }

        var distinct = AllocationRules.DistinctWorkers(c.RecentPeriods, at, options.WorkerChangeWindow);
        t.Count(KpiCatalog.ChildrenOverThreeWorkers, AllocationRules.IsFlagged(distinct, options), c.ChildId, $"{distinct} workers in 12 months");
        var transfers = c.RecentTransfers?.Count(x => x > at.AddMonths(-12) && x <= at) ?? 0;
        t.Add(KpiCatalog.TransferPointsPerChild, transfers, 1, transfers > 0 ? new BehindItem(c.ChildId, $"{transfers} transfer points in 12 months") : null);

        var record = c.CaseRecord;
        // Supervision and oversight fall due 6 weeks after the case's first allocation in this episode, then 6 weeks
        // after each recording: a case allocated yesterday is not late. A child with no case record counts, as not recorded.
        if (FirstAllocation(c) is { } allocated)
        {
            var due = UkCalendar.DateOf(allocated).AddDays(SupervisionDays);
            Recorded(t, KpiCatalog.SupervisionIn6Weeks, c.ChildId, record, record?.LastSupervisionOn, due, today);
            Recorded(t, KpiCatalog.OversightIn6Weeks, c.ChildId, record, record?.LastManagementOversightOn, due, today);
        }

        if (record is null)
        {
            // Statutory visits are due for every allocated child: without a record none can be shown in timescale.
            if (c.WorkerId is not null)
            {
                t.Meets(KpiCatalog.VisitsInTimescale, false, c.ChildId, "no record", noRecord: true);
            }

            return;
        }

        // A visit counts once it is due: in timescale if done on or before the day it was due.
        if (record.VisitDueOn is { } visitDue && visitDue <= today)
        {
            var inTime = record.VisitDoneOn is { } done && done <= visitDue;
            var note = record.VisitDoneOn is { } d ? $"visit due {visitDue:yyyy-MM-dd}, done {d:yyyy-MM-dd}" : $"visit due {visitDue:yyyy-MM-dd}, not done";
            t.Meets(KpiCatalog.VisitsInTimescale, inTime, c.ChildId, note);
            if (record.Plan switch
                {
                    PlanType.ChildProtection => KpiCatalog.VisitsInTimescaleCp,
                    PlanType.ChildInNeed => KpiCatalog.VisitsInTimescaleCin,
                    PlanType.ChildLookedAfter => KpiCatalog.VisitsInTimescaleCla,
                    _ => null,
                } is { } byPlan)
            {
                t.Meets(byPlan, inTime, c.ChildId, note);
            }
        }

        // A review counts once it is due, as a visit does: CP plan reviews (KPI 26) and CLA reviews (KPI 34).
        if (record.ReviewDueOn is { } reviewDue && reviewDue <= today
            && record.Plan is PlanType.ChildProtection or PlanType.ChildLookedAfter)
        {
            var inTime = record.ReviewDoneOn is { } done && done <= reviewDue;
            t.Meets(record.Plan == PlanType.ChildProtection ? KpiCatalog.CpPlansReviewedInTimescale : KpiCatalog.ClaReviewsInTimescale,
                inTime, c.ChildId, record.ReviewDoneOn is { } d ? $"review due {reviewDue:yyyy-MM-dd}, held {d:yyyy-MM-dd}" : $"review due {reviewDue:yyyy-MM-dd}, not held");
        }

        if (record.Plan == PlanType.ChildProtection)
        {
            t.Count(KpiCatalog.CpPlansOver18Months, record.PlanStartedOn is { } cpStart && cpStart.AddMonths(CpPlanMonths) < today, c.ChildId, $"plan since {record.PlanStartedOn:yyyy-MM-dd}");
        }
        else if (record.Plan == PlanType.ChildInNeed)
        {
            t.Count(KpiCatalog.CinPlansOver2Years, record.PlanStartedOn is { } cinStart && cinStart.AddMonths(CinPlanMonths) < today, c.ChildId, $"plan since {record.PlanStartedOn:yyyy-MM-dd}");
        }
    }

    private static void Recorded(Tallies t, string kpi, string childId, CaseRecord? record, DateOnly? last, DateOnly dueFromAllocation, DateOnly today)
    {
        if (record is null)
        {
            t.Meets(kpi, dueFromAllocation >= today, childId, "no record", noRecord: dueFromAllocation < today);
            return;
        }

        var due = last is { } l ? (l.AddDays(SupervisionDays) > dueFromAllocation ? l.AddDays(SupervisionDays) : dueFromAllocation) : dueFromAllocation;
        t.Meets(kpi, due >= today, childId, last is { } when ? $"last recorded {when:yyyy-MM-dd}" : "none recorded");
    }

    /// <summary>When the child was first allocated in its current episode; null while it has never been.</summary>
    private static DateTimeOffset? FirstAllocation(TeamChildSummary c)
    {
        if (c.WorkerId is null)
        {
            return null;
        }

        var since = c.ReferredAt ?? DateTimeOffset.MinValue;
        return c.RecentPeriods.Where(p => p.From >= since).Select(p => (DateTimeOffset?)p.From).Min() ?? c.AllocatedAt;
    }

    private static void MeasureWorkers(TeamSnapshot team, DateOnly today, Tallies t, Dictionary<string, int> caseloads)
    {
        // The last three whole calendar months, for KPI 43.
        var thisMonth = new DateOnly(today.Year, today.Month, 1);
        var months = Enumerable.Range(1, 3).Select(i => thisMonth.AddMonths(-i)).ToList();
        decimal inPost = 0, permanent = 0, agency = 0;
        var agencyWorkers = new List<BehindItem>();
        foreach (var worker in team.Workers)
        {
            if (worker.HasLeft)
            {
                continue;
            }

            inPost += worker.Fte;
            if (worker.Agency)
            {
                agency += worker.Fte;
                agencyWorkers.Add(new BehindItem(worker.WorkerId, $"agency, {worker.Fte} FTE"));
            }
            else
            {
                permanent += worker.Fte;
            }

            t.Count(KpiCatalog.OverridesInForce, worker.OverridesInForce > 0 ? worker.OverridesInForce : 0, worker.WorkerId, $"{worker.OverridesInForce} over ceiling by override");

            // Caseholders as on the board: managers on a ceiling of zero and leavers are not part of the caseload KPIs.
            var caseload = caseloads.GetValueOrDefault(worker.WorkerId);
            if (worker.Ceiling <= 0 && caseload == 0)
            {
                continue;
            }

            t.Meets(KpiCatalog.Caseloads18OrLess, caseload <= PlanCaseload, worker.WorkerId, $"{caseload} children");
            t.Meets(KpiCatalog.CaseloadsAtOrUnderCeiling, caseload <= worker.Ceiling, worker.WorkerId, $"{caseload} children, ceiling {worker.Ceiling}");
            t.Add(KpiCatalog.AverageCaseload, caseload, 1, null);
            t.Max(KpiCatalog.MaxCaseload, caseload, worker.WorkerId, false, $"{caseload} children");
            var supervised = worker.Supervisions ?? [];
            var missed = months.Where(m => !supervised.Any(s => s.Year == m.Year && s.Month == m.Month)).ToList();
            t.Meets(KpiCatalog.StaffSupervisedThreeMonths, missed.Count == 0, worker.WorkerId,
                "no supervision recorded in " + string.Join(", ", missed.Select(m => m.ToString("MMMM yyyy", System.Globalization.CultureInfo.InvariantCulture))));
        }

        // Vacancy as the plan means it: agency staff cover vacant posts, they do not fill them. Over-establishment is
        // its own figure, never netted against vacancy. No establishment loaded, no staffing figures.
        if (team.EstablishmentFte is { } funded and > 0)
        {
            t.Add(KpiCatalog.Vacancy, Math.Max(0, funded - permanent), funded, null);
            foreach (var item in agencyWorkers)
            {
                t.Add(KpiCatalog.Vacancy, 0, 0, item with { Note = item.Note + ", covering a vacant post" });
            }

            t.Add(KpiCatalog.OverEstablishment, Math.Max(0, inPost - funded), funded, null);
            if (inPost > 0)
            {
                t.Add(KpiCatalog.AgencyShare, agency, inPost, null);
                agencyWorkers.ForEach(item => t.Add(KpiCatalog.AgencyShare, 0, 0, item));
            }
        }
    }

    /// <summary>The plan's caseload figure for KPI 2, whatever a worker's FTE or role.</summary>
    public const int PlanCaseload = 18;

    /// <summary>Accumulates the tallies of one team as the children and workers are read.</summary>
    private sealed class Tallies
    {
        private readonly Dictionary<string, (decimal N, decimal D, List<BehindItem> Behind, int NoRecord, decimal PN, decimal PD)> _t = new(StringComparer.Ordinal);

        public void Add(string kpi, decimal numerator, decimal denominator, BehindItem? behind, bool noRecord = false)
        {
            var (n, d, list, none, pn, pd) = _t.TryGetValue(kpi, out var x) ? x : (0, 0, new List<BehindItem>(), 0, 0, 0);
            if (behind is not null)
            {
                list.Add(behind);
            }

            _t[kpi] = (n + numerator, d + denominator, list, none + (noRecord ? 1 : 0), pn, pd);
        }

        /// <summary>A member of a "higher is better" percentage: it is behind the figure when it does not meet it.</summary>
        public void Meets(string kpi, bool meets, string id, string note, bool noRecord = false) =>
            Add(kpi, meets ? 1 : 0, 1, meets ? null : new BehindItem(id, note), noRecord);

        /// <summary>A member of a "lower is better" percentage or a count: it is behind the figure when it is counted.</summary>
        public void Count(string kpi, bool counted, string id, string note) => Add(kpi, counted ? 1 : 0, 1, counted ? new BehindItem(id, note) : null);

        public void Count(string kpi, int count, string id, string note) => Add(kpi, count, 0, count > 0 ? new BehindItem(id, note) : null);

        public void Count<T>(string kpi, IEnumerable<T> items, Func<T, string> id, Func<T, string> note)
        {
            Add(kpi, 0, 0, null);
            foreach (var item in items)
            {
                Add(kpi, 1, 0, new BehindItem(id(item), note(item)));
            }
        }

        public void Prior(string kpi, bool counted)
        {
            var (n, d, list, none, pn, pd) = _t.TryGetValue(kpi, out var x) ? x : (0, 0, new List<BehindItem>(), 0, 0, 0);
            _t[kpi] = (n, d, list, none, pn + (counted ? 1 : 0), pd + 1);
        }

        /// <summary>A maximum: the largest value, with the members that reach it (or, where <paramref name="behind"/>, that miss the target).</summary>
        public void Max(string kpi, decimal value, string id, bool behind, string note)
        {
            var (n, d, list, none, pn, pd) = _t.TryGetValue(kpi, out var x) ? x : (0, 0, new List<BehindItem>(), 0, 0, 0);
            if (behind)
            {
                list.Add(new BehindItem(id, note));
            }

            _t[kpi] = (Math.Max(n, value), 1, list, none, pn, pd);
        }

        public TeamMeasures Build()
        {
            var tallies = _t.ToDictionary(kv => kv.Key, kv => new Tally(kv.Value.N, kv.Value.D, kv.Value.Behind, kv.Value.NoRecord, kv.Value.PN, kv.Value.PD), StringComparer.Ordinal);
            // KPI 1's decrease is the cohort compared with the one before: the same counts, read the other way.
            if (tallies.TryGetValue(KpiCatalog.NewCasesOverThreeWorkers, out var cohort))
            {
                tallies[KpiCatalog.NewCasesOverThreeWorkersDecrease] = cohort;
            }

            return new TeamMeasures(tallies);
        }
    }

    /// <summary>
    /// <see cref="RagRule.Margin"/>: green meets the target; amber misses it by no more than the margin; red by more.
    /// <see cref="RagRule.AllChildren"/>: any miss is red; amber within the margin before the target is missed.
    /// Not rated without a target or without a value.
    /// </summary>
    public static Rag Rate(decimal? value, decimal? target, KpiDirection direction, decimal margin, RagRule rule = RagRule.Margin)
    {
        if (value is not { } v || target is not { } t)
        {
            return Rag.None;
        }

        var shortfall = direction == KpiDirection.HigherIsBetter ? t - v : v - t;
        return rule == RagRule.AllChildren
            ? shortfall > 0 ? Rag.Red : margin > 0 && shortfall >= -margin ? Rag.Amber : Rag.Green
            : shortfall <= 0 ? Rag.Green : shortfall <= margin ? Rag.Amber : Rag.Red;
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
            var tally = m[definition.Id];
            var value = Figure(definition.Figure, tally);
            var own = targets?.GetValueOrDefault(definition.Id);
            var target = own?.Target ?? definition.DefaultTarget;
            var margin = own?.AmberMargin ?? definition.DefaultAmberMargin;
            var before = previous?.FirstOrDefault(p => p.Id == definition.Id);
            var fraction = definition.Figure is FigureKind.Percent or FigureKind.Average or FigureKind.Decrease;
            var cohort = definition.Figure == FigureKind.Decrease;
            results.Add(new KpiResult(
                definition.Id, definition.Title, definition.Unit, definition.Direction, value, target, margin,
                Rate(value, target, definition.Direction, margin, definition.Rule), before?.Value, before?.Rag,
                TrendOf(value, before?.Value, definition.Direction),
                fraction ? tally.Numerator : null, fraction ? tally.Denominator : null,
                tally.NoRecord > 0 ? tally.NoRecord : null,
                cohort ? tally.PriorNumerator : null, cohort ? tally.PriorDenominator : null));
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

    /// <summary>No denominator, no figure: a team with no data for a check is not rated on it.</summary>
    private static decimal? Figure(FigureKind kind, Tally t) => kind switch
    {
        FigureKind.Percent => t.Denominator == 0 ? null : Round(100m * t.Numerator / t.Denominator),
        FigureKind.Average => t.Denominator == 0 ? null : Math.Round(t.Numerator / t.Denominator, 2, MidpointRounding.AwayFromZero),
        FigureKind.Max => t.Denominator == 0 && t.Numerator == 0 ? null : t.Numerator,
        FigureKind.Count => t.Numerator,
        // A fall from the previous cohort's share to this one's, as a percentage of the previous share.
        FigureKind.Decrease => t.Denominator == 0 || t.PriorDenominator == 0 || t.PriorNumerator == 0 ? null
            : Round(100m * ((t.PriorNumerator / t.PriorDenominator) - (t.Numerator / t.Denominator)) / (t.PriorNumerator / t.PriorDenominator)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown figure."),
    };

    private static decimal Round(decimal value) => Math.Round(value, 1, MidpointRounding.AwayFromZero);
}
