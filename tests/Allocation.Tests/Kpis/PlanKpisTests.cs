using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;

namespace Allocation.Tests.Kpis;

/// <summary>
/// A small authority built by hand, each KPI counted by hand as the improvement plan (002) defines it. The night is
/// Tuesday 1 December 2026, 10:00 (GMT). KPI 1's cohort is the children referred July–September 2025 (the latest
/// quarter whose 12 months are over), compared with April–June 2025. The reporting period is the 30 days to 1 December
/// (2 November onwards); the last three whole months are September, October and November 2026.
///
/// Team north: W1 (1 FTE, ceiling 18) holds 20; W2 (0.5 FTE, ceiling 9) holds 12; W3 (NQSW, agency, ceiling 12)
/// holds 5; W4 (1 FTE, ceiling 18) holds 18, six of them the children s1–s6 below, the rest fillers whose records are
/// all in time. u1 and u2 wait. k1–k5 were closed. Establishment 3 FTE. Team south only has closed cases k6–k8.
/// </summary>
public class PlanKpisTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly AllocationOptions Options = new();
    private static readonly DateOnly Today = new(2026, 12, 1);

    private static DateTimeOffset T(int year, int month, int day) => new(year, month, day, 9, 0, 0, TimeSpan.Zero);

    private static DateOnly D(int year, int month, int day) => new(year, month, day);

    private static WorkerPeriod P(string worker, DateTimeOffset from, DateTimeOffset? to) => new(worker, "north", from, to, "allocation");

    private static TeamChildSummary Child(
        string id, string? worker, DateTimeOffset referred, IReadOnlyList<WorkerPeriod> periods, CaseRecord? record,
        DateTimeOffset? previousReferral = null, IReadOnlyList<DateTimeOffset>? transfers = null, DateTimeOffset? clockStarted = null) =>
        new(id, 1, worker, worker is null ? null : periods[^1].From, clockStarted ?? referred, (clockStarted ?? referred).AddHours(24),
            "referral", false, Math.Max(0, periods.Count - 1), periods, record, referred, previousReferral, transfers);

    private static TeamWorkerSummary Worker(string id, WorkerRole role, decimal fte, int ceiling, bool agency, params DateOnly[] supervisions) =>
        new(id, id, role, fte, ceiling, [], false, 0, agency, supervisions);

    private static ClosedCase Closed(string id, DateTimeOffset referred, DateTimeOffset closed, IReadOnlyList<WorkerPeriod> periods,
        CaseRecord? record = null, DateTimeOffset? previousReferral = null) =>
        new(Child(id, null, referred, periods, record, previousReferral), closed);

    /// <summary>Four distinct workers, one after another, from <paramref name="from"/>, each for about two months.</summary>
    private static IReadOnlyList<WorkerPeriod> FourWorkers(string prefix, DateTimeOffset from) =>
    [
        P(prefix + "1", from, from.AddMonths(2)), P(prefix + "2", from.AddMonths(2), from.AddMonths(4)),
        P(prefix + "3", from.AddMonths(4), from.AddMonths(6)), P(prefix + "4", from.AddMonths(6), from.AddMonths(8)),
    ];

    private static TeamSnapshot North()
    {
        var workers = new List<TeamWorkerSummary>
        {
            Worker("W1", WorkerRole.SocialWorker, 1m, 18, false, D(2026, 9, 10), D(2026, 10, 8), D(2026, 11, 5)),
            Worker("W2", WorkerRole.SocialWorker, 0.5m, 9, false, D(2026, 9, 10), D(2026, 11, 5)),               // no October
            Worker("W3", WorkerRole.NewlyQualified, 1m, 12, true, D(2026, 8, 3), D(2026, 9, 3), D(2026, 10, 3), D(2026, 11, 3)),
            Worker("W4", WorkerRole.SocialWorker, 1m, 18, false),                                                 // none recorded
        };

        var inTime = new CaseRecord(LastSupervisionOn: D(2026, 11, 24), LastManagementOversightOn: D(2026, 11, 24));
        var children = new List<TeamChildSummary>();
        foreach (var (worker, count) in new[] { ("W1", 20), ("W2", 12), ("W3", 5), ("W4", 12) })
        {
            children.AddRange(Enumerable.Range(1, count).Select(i =>
                Child($"{worker}-f{i}", worker, T(2024, 1, 1), [P(worker, T(2024, 1, 2), null)], inTime)));
        }

        children.AddRange(
        [
            // In the cohort; four workers in its first 12 months (three in the rolling year to tonight).
            Child("s1", "W4", T(2025, 8, 15),
                [P("X1", T(2025, 8, 20), T(2025, 10, 1)), P("X2", T(2025, 10, 1), T(2026, 1, 10)), P("X3", T(2026, 1, 10), T(2026, 6, 1)), P("W4", T(2026, 6, 1), null)],
                new CaseRecord(Plan: PlanType.ChildProtection, PlanStartedOn: D(2025, 9, 1),
                    VisitDueOn: D(2026, 11, 25), VisitDoneOn: D(2026, 11, 24),          // in time
                    ReviewDueOn: D(2026, 11, 20), ReviewDoneOn: D(2026, 11, 21),        // a day late
                    LastSupervisionOn: D(2026, 11, 20), LastManagementOversightOn: D(2026, 11, 20))),
            // In the cohort, two workers. CIN plan over 2 years; visit due, not done; no supervision since allocation in 2025.
            Child("s2", "W4", T(2025, 9, 10), [P("X5", T(2025, 9, 11), T(2026, 2, 1)), P("W4", T(2026, 2, 1), null)],
                new CaseRecord(Plan: PlanType.ChildInNeed, PlanStartedOn: D(2024, 10, 1),
                    VisitDueOn: D(2026, 11, 28), LastManagementOversightOn: D(2026, 11, 1))),
            // Re-referred on 20 November, 9 months after the last referral; allocated the next day; transferred twice.
            Child("s3", "W4", T(2026, 11, 20), [P("W4", T(2026, 11, 21), null)],
                new CaseRecord(Plan: PlanType.ChildLookedAfter, VisitDueOn: D(2026, 11, 30), VisitDoneOn: D(2026, 11, 30),
                    ReviewDueOn: D(2026, 11, 15), ReviewDoneOn: D(2026, 11, 14)),
                previousReferral: T(2026, 3, 1), transfers: [T(2026, 11, 22), T(2026, 11, 25)]),
            // No case record at all, allocated since September.
            Child("s4", "W4", T(2026, 8, 30), [P("W4", T(2026, 9, 1), null)], null),
            // In the earlier cohort, four workers in its first 12 months; CP plan over 18 months; review held in time.
            Child("s5", "W4", T(2025, 5, 10),
                [P("Y1", T(2025, 5, 11), T(2025, 7, 1)), P("Y2", T(2025, 7, 1), T(2025, 9, 1)), P("Y3", T(2025, 9, 1), T(2026, 1, 15)), P("W4", T(2026, 1, 15), null)],
                new CaseRecord(Plan: PlanType.ChildProtection, PlanStartedOn: D(2025, 3, 1), VisitDueOn: D(2026, 12, 5),
                    ReviewDueOn: D(2026, 11, 30), ReviewDoneOn: D(2026, 11, 28),
                    LastSupervisionOn: D(2026, 11, 25), LastManagementOversightOn: D(2026, 11, 25))),
            // In the earlier cohort, one worker. CLA review missed; supervision 1 October (due 12 November); an
            // assessment from 1 September to 20 November: 58 working days, seen but not alone.
            Child("s6", "W4", T(2025, 6, 1), [P("W4", T(2025, 6, 2), null)],
                new CaseRecord(Plan: PlanType.ChildLookedAfter, ReviewDueOn: D(2026, 11, 1),
                    AssessmentStartedOn: D(2026, 9, 1), AssessmentCompletedOn: D(2026, 11, 20), ChildSeen: true, ChildSeenAlone: false,
                    LastSupervisionOn: D(2026, 10, 1), LastManagementOversightOn: D(2026, 11, 30))),
            Child("u1", null, T(2026, 11, 30).AddHours(5), [], null),                   // waiting 20 hours
            Child("u2", null, T(2026, 12, 1).AddHours(-1), [], null),                   // waiting 2 hours
        ]);

        var closed = new List<ClosedCase>
        {
            Closed("k1", T(2025, 7, 5), T(2026, 3, 1), FourWorkers("Z", T(2025, 7, 6))),                         // cohort, over 3
            Closed("k2", T(2025, 8, 1), T(2025, 10, 1), [P("Z9", T(2025, 8, 2), T(2025, 10, 1))]),              // cohort, 1
            Closed("k3", T(2025, 4, 10), T(2025, 6, 1), [P("Z8", T(2025, 4, 11), T(2025, 6, 1))]),              // earlier cohort, 1
            // Re-referred on 5 November (previous referral in February); assessed in 10 working days, seen alone; closed.
            Closed("k4", T(2026, 11, 5), T(2026, 11, 20), [P("W1", T(2026, 11, 5), T(2026, 11, 20))],
                new CaseRecord(AssessmentStartedOn: D(2026, 11, 5), AssessmentCompletedOn: D(2026, 11, 19), ChildSeen: true, ChildSeenAlone: true),
                previousReferral: T(2026, 2, 1)),
            // Referred on 15 November 2025 (just outside the last 12 months), previous referral in 2024.
            Closed("k5", T(2025, 11, 15), T(2026, 1, 10), [P("W2", T(2025, 11, 16), T(2026, 1, 10))], previousReferral: T(2024, 1, 1)),
        };

        var breaches = new List<EscalatedBreach> { new("u9", At.AddDays(-4), At.AddDays(-3), At.AddDays(-3), []) };
        return new TeamSnapshot(3m, workers, children, breaches, closed);
    }

    private static TeamSnapshot South() => new(null, [], [], [],
    [
        Closed("k6", T(2025, 8, 20), T(2026, 1, 5), [P("V1", T(2025, 8, 21), T(2026, 1, 5))]),                  // cohort, 1
        Closed("k7", T(2025, 5, 1), T(2026, 2, 1), FourWorkers("V", T(2025, 5, 2))),                             // earlier, over 3
        Closed("k8", T(2025, 6, 1), T(2026, 3, 1), FourWorkers("U", T(2025, 6, 2))),                             // earlier, over 3
    ]);

    private static Dictionary<string, KpiResult> Evaluate(TeamSnapshot team) =>
        ThresholdChecks.Evaluate(ThresholdChecks.Measure(team, At, Options), null, null).ToDictionary(k => k.Id);

    private static void Is(Dictionary<string, KpiResult> kpis, string id, decimal? value, decimal? numerator, decimal? denominator, Rag rag)
    {
        var k = kpis[id];
        Assert.True((value, numerator, denominator, rag) == (k.Value, k.Numerator, k.Denominator, k.Rag),
            $"{id}: expected {value} ({numerator}/{denominator}) {rag}, got {k.Value} ({k.Numerator}/{k.Denominator}) {k.Rag}");
    }

    [Fact]
    public void The_cohort_quarter_is_the_latest_whose_12_months_are_over()
    {
        Assert.Equal((D(2025, 7, 1), D(2025, 10, 1)), ThresholdChecks.CohortQuarter(Today));
        // On 1 January 2027 the children referred up to 31 December 2025 have all had 12 months.
        Assert.Equal((D(2025, 10, 1), D(2026, 1, 1)), ThresholdChecks.CohortQuarter(D(2027, 1, 1)));
        Assert.Equal((D(2025, 7, 1), D(2025, 10, 1)), ThresholdChecks.CohortQuarter(D(2026, 12, 31)));
    }

    [Fact]
    public void KPI_1_follows_each_quarters_new_cases_for_12_months_closed_ones_included_and_compares_quarter_on_quarter()
    {
        var north = Evaluate(North());

        // Cohort (July–September 2025): s1 (4 workers), s2 (2), k1 (4, closed), k2 (1, closed): 2 of 4.
        // Earlier (April–June 2025): s5 (4), s6 (1), k3 (1, closed): 1 of 3. From 33.3% to 50%: a 50% increase.
        Is(north, KpiCatalog.NewCasesOverThreeWorkers, 50m, 2, 4, Rag.None);
        Is(north, KpiCatalog.NewCasesOverThreeWorkersDecrease, -50m, 2, 4, Rag.Red);
        Assert.Equal((1m, 3m), (north[KpiCatalog.NewCasesOverThreeWorkersDecrease].PriorNumerator, north[KpiCatalog.NewCasesOverThreeWorkersDecrease].PriorDenominator));
        // Beside it, ours: of the 57 open children none has more than 3 workers in the rolling year (s1 has 3, s5 has 2).
        Is(north, KpiCatalog.ChildrenOverThreeWorkers, 0m, 0, 57, Rag.None);

        // The authority adds south's closed cases: cohort k6 (1 worker), so 2 of 5 = 40%; earlier k7 and k8 (4 each), so
        // 1 + 2 of 3 + 2 = 60%. A fall from 60% to 40% is a decrease of a third: green against 5%.
        var report = ThresholdChecks.BuildReport(Today, At,
            [("north", "North", ThresholdChecks.Measure(North(), At, Options)), ("south", "South", ThresholdChecks.Measure(South(), At, Options))], null, null);
        var authority = report.Authority.ToDictionary(k => k.Id);
        Is(authority, KpiCatalog.NewCasesOverThreeWorkers, 40m, 2, 5, Rag.None);
        Is(authority, KpiCatalog.NewCasesOverThreeWorkersDecrease, 33.3m, 2, 5, Rag.Green);
    }

    [Fact]
    public void KPI_2_counts_caseloads_of_18_or_less_and_ours_counts_each_workers_own_ceiling_beside_it()
    {
        var m = ThresholdChecks.Measure(North(), At, Options);
        var kpis = ThresholdChecks.Evaluate(m, null, null).ToDictionary(k => k.Id);

        // 18 or less: W2 (12), W3 (5), W4 (18); W1 holds 20. 3 of 4: 10 points short of 85, beyond the margin of 5.
        Is(kpis, KpiCatalog.Caseloads18OrLess, 75m, 3, 4, Rag.Red);
        Assert.Equal(["W1"], m[KpiCatalog.Caseloads18OrLess].Behind.Select(b => b.Id));
        // Own ceiling: W3 (5 of 12), W4 (18 of 18); W2 holds 12 of 9 (0.5 FTE), W1 20 of 18.
        Is(kpis, KpiCatalog.CaseloadsAtOrUnderCeiling, 50m, 2, 4, Rag.Red);
        Assert.Equal(["W1", "W2"], m[KpiCatalog.CaseloadsAtOrUnderCeiling].Behind.Select(b => b.Id));
        Is(kpis, KpiCatalog.AverageCaseload, 13.75m, 55, 4, Rag.None);
        Is(kpis, KpiCatalog.MaxCaseload, 20m, null, null, Rag.None);
    }

    [Fact]
    public void KPI_3_re_referrals_are_the_referrals_of_the_last_12_months_made_within_12_months_of_the_previous_one()
    {
        var m = ThresholdChecks.Measure(North(), At, Options);
        var kpis = ThresholdChecks.Evaluate(m, null, null).ToDictionary(k => k.Id);

        // Referred since 1 December 2025: s3 (again after 9 months), s4, u1, u2, and k4 (again after 9 months, closed).
        // k5 was referred on 15 November 2025, before the 12 months. 2 of 5 = 40%: 15 over 25.
        Is(kpis, KpiCatalog.ReReferralsWithin12Months, 40m, 2, 5, Rag.Red);
        Assert.Equal(["s3", "k4"], m[KpiCatalog.ReReferralsWithin12Months].Behind.Select(b => b.Id));
    }

    [Fact]
    public void Vacancy_counts_agency_covered_posts_as_vacant_and_over_establishment_apart()
    {
        var kpis = Evaluate(North());

        // Funded 3 FTE; permanent in post W1 1 + W2 0.5 + W4 1 = 2.5; W3 (1 FTE) is agency. Vacant 0.5 of 3.
        Is(kpis, KpiCatalog.Vacancy, 16.7m, 0.5m, 3, Rag.Red);              // 6.7 over 10, beyond the margin of 5
        // Agency 1 of 3.5 FTE in post.
        Is(kpis, KpiCatalog.AgencyShare, 28.6m, 1, 3.5m, Rag.Red);
        // In post 3.5 of 3 funded: 0.5 over, reported on its own, not netted against the vacancy.
        Is(kpis, KpiCatalog.OverEstablishment, 16.7m, 0.5m, 3, Rag.None);
    }

    [Fact]
    public void The_24_hour_rule_is_for_all_children_any_breach_is_red_and_amber_warns_before_it()
    {
        var kpis = Evaluate(North());

        // u1 has waited 20 hours: not breached, but within 8 hours of 24, amber as on the live board.
        Is(kpis, KpiCatalog.LongestWaitHours, 20m, null, null, Rag.Amber);
        Is(kpis, KpiCatalog.BreachesLastDay, 0m, null, null, Rag.Green);
        Is(kpis, KpiCatalog.BreachesLastWeek, 1m, null, null, Rag.Red);      // one breach, three days ago
        Is(kpis, KpiCatalog.UnallocatedNow, 2m, null, null, Rag.None);
    }

    [Theory]
    [InlineData("31", Rag.Red)]
    [InlineData("24.1", Rag.Red)]
    [InlineData("24", Rag.Amber)]
    [InlineData("16", Rag.Amber)]
    [InlineData("15.9", Rag.Green)]
    public void Longest_wait_against_24_hours_for_all_children(string hours, Rag expected) =>
        Assert.Equal(expected, ThresholdChecks.Rate(decimal.Parse(hours, System.Globalization.CultureInfo.InvariantCulture), 24m, KpiDirection.LowerIsBetter, 8m, RagRule.AllChildren));

    [Fact]
    public void A_single_breach_is_red_for_all_children() =>
        Assert.Equal(Rag.Red, ThresholdChecks.Rate(1m, 0m, KpiDirection.LowerIsBetter, 0m, RagRule.AllChildren));

    [Fact]
    public void Statutory_visits_are_split_by_plan_and_a_child_without_a_record_counts_as_no_record()
    {
        var m = ThresholdChecks.Measure(North(), At, Options);
        var kpis = ThresholdChecks.Evaluate(m, null, null).ToDictionary(k => k.Id);

        // Due by tonight: s1 (CP, in), s2 (CIN, not done), s3 (CLA, in); s4 has no record. s5's is not due yet.
        Is(kpis, KpiCatalog.VisitsInTimescale, 50m, 2, 4, Rag.Red);
        Assert.Equal(1, kpis[KpiCatalog.VisitsInTimescale].NoRecord);
        Assert.Equal([("s2", "visit due 2026-11-28, not done"), ("s4", "no record")], m[KpiCatalog.VisitsInTimescale].Behind.Select(b => (b.Id, b.Note)));
        Is(kpis, KpiCatalog.VisitsInTimescaleCp, 100m, 1, 1, Rag.Green);
        Is(kpis, KpiCatalog.VisitsInTimescaleCin, 0m, 0, 1, Rag.Red);
        Is(kpis, KpiCatalog.VisitsInTimescaleCla, 100m, 1, 1, Rag.Green);
    }

    [Fact]
    public void Assessments_and_children_seen_count_the_assessments_completed_in_the_period_closed_cases_included()
    {
        var kpis = Evaluate(North());

        // Completed since 1 November: s6 (58 working days, seen, not alone) and k4 (10 working days, seen alone).
        Is(kpis, KpiCatalog.AssessmentsIn45WorkingDays, 50m, 1, 2, Rag.Red);
        Is(kpis, KpiCatalog.ChildrenSeenInAssessment, 100m, 2, 2, Rag.Green);
        Is(kpis, KpiCatalog.ChildrenSeenAloneInAssessment, 50m, 1, 2, Rag.Red);
    }

    [Fact]
    public void Supervision_and_oversight_count_from_allocation_for_new_cases_and_show_children_with_no_record()
    {
        var m = ThresholdChecks.Measure(North(), At, Options);
        var kpis = ThresholdChecks.Evaluate(m, null, null).ToDictionary(k => k.Id);

        // 55 allocated: 49 fillers in time; s1, s5 in time; s3 allocated 10 days ago (not due yet). Out: s2 (none since
        // allocation in 2025), s6 (1 October), s4 (no record). 52 of 55 = 94.5%: within 5 of 95.
        Is(kpis, KpiCatalog.SupervisionIn6Weeks, 94.5m, 52, 55, Rag.Amber);
        Assert.Equal(["s2", "s4", "s6"], m[KpiCatalog.SupervisionIn6Weeks].Behind.Select(b => b.Id));
        Assert.Equal(1, kpis[KpiCatalog.SupervisionIn6Weeks].NoRecord);
        // Oversight: only s4 (no record) is out. 54 of 55.
        Is(kpis, KpiCatalog.OversightIn6Weeks, 98.2m, 54, 55, Rag.Green);
    }

    [Fact]
    public void KPI_43_counts_staff_supervised_in_each_of_the_last_three_whole_months()
    {
        var m = ThresholdChecks.Measure(North(), At, Options);
        var kpis = ThresholdChecks.Evaluate(m, null, null).ToDictionary(k => k.Id);

        // September, October, November: W1 and W3 each month; W2 missed October; W4 has none.
        Is(kpis, KpiCatalog.StaffSupervisedThreeMonths, 50m, 2, 4, Rag.Red);
        Assert.Equal([("W2", "no supervision recorded in October 2026"), ("W4", "no supervision recorded in November 2026, October 2026, September 2026")],
            m[KpiCatalog.StaffSupervisedThreeMonths].Behind.Select(b => (b.Id, b.Note)));
    }

    [Fact]
    public void Plan_reviews_plan_length_and_transfer_points()
    {
        var kpis = Evaluate(North());

        Is(kpis, KpiCatalog.CpPlansReviewedInTimescale, 50m, 1, 2, Rag.Red);       // s5 in time, s1 a day late
        Is(kpis, KpiCatalog.ClaReviewsInTimescale, 50m, 1, 2, Rag.Red);            // s3 in time, s6 not held
        Is(kpis, KpiCatalog.CpPlansOver18Months, 50m, 1, 2, Rag.Red);              // s5 (21 months); s1 (15)
        Is(kpis, KpiCatalog.CinPlansOver2Years, 100m, 1, 1, Rag.None);             // s2 (26 months)
        Is(kpis, KpiCatalog.TransferPointsPerChild, 0.04m, 2, 57, Rag.None);       // s3's two transfers over 57 open children
    }
}
