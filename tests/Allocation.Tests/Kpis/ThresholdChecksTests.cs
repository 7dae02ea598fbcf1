using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;

namespace Allocation.Tests.Kpis;

/// <summary>
/// One small team, worked by hand. "Today" is Tuesday 10 March 2026 (GMT, so the UK date is the UTC date).
/// Workers: A (ceiling 3, holds c1 c2), B (ceiling 2, holds c3 c4 c5, one by override), C (NQSW 0.5 FTE, agency,
/// ceiling 2, holds none), a practice manager (ceiling 0) and a leaver. Waiting: u1 for 30 hours, u2 for 5.
/// </summary>
public class ThresholdChecksTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 10, 10, 0, 0, TimeSpan.Zero);
    private static readonly AllocationOptions Options = new();

    private static TeamSnapshot Fixture()
    {
        TeamWorkerSummary Worker(string id, WorkerRole role, decimal fte, int ceiling, int overrides = 0, bool left = false, bool agency = false) =>
            new(id, id, role, fte, ceiling, [], left, overrides, agency);

        var workers = new List<TeamWorkerSummary>
        {
            Worker("A", WorkerRole.SocialWorker, 1m, 3),
            Worker("B", WorkerRole.SocialWorker, 1m, 2, overrides: 1),
            Worker("C", WorkerRole.NewlyQualified, 0.5m, 2, agency: true),
            Worker("M", WorkerRole.PracticeManager, 1m, 0),
            Worker("L", WorkerRole.SocialWorker, 1m, 3, left: true),
        };

        static WorkerPeriod P(string worker, double fromDaysAgo, double? toDaysAgo) =>
            new(worker, "t", At.AddDays(-fromDaysAgo), toDaysAgo is { } to ? At.AddDays(-to) : null, "allocation");

        TeamChildSummary Child(string id, string? worker, IReadOnlyList<WorkerPeriod> periods, CaseRecord? record = null, double waitingHours = 0) =>
            new(id, 1, worker, worker is null ? null : At.AddDays(-1), At.AddHours(-waitingHours), At.AddHours(24 - waitingHours), "referral",
                false, Math.Max(0, periods.Count - 1), periods, record);

        static DateOnly D(int month, int day, int year = 2026) => new(year, month, day);

        var children = new List<TeamChildSummary>
        {
            // Four workers, the fourth from 2 days ago: over 3 now and a day ago, so not new.
            Child("c1", "A", [P("w1", 300, 200), P("w2", 200, 100), P("w3", 100, 2), P("A", 2, null)], new CaseRecord(
                Plan: PlanType.ChildProtection, PlanStartedOn: D(8, 1, 2024),        // 19 months: over 18
                VisitDueOn: D(3, 6), VisitDoneOn: D(3, 5),                          // done before due: in timescale
                LastSupervisionOn: D(2, 1),                                          // 37 days: in
                LastManagementOversightOn: D(1, 20))),                               // 49 days: out
            // Four workers, the fourth from 12 hours ago: a day ago it had 3, so it crossed 3 in the last day.
            Child("c2", "A", [P("x1", 300, 200), P("x2", 200, 100), P("x3", 100, 0.5), P("A", 0.5, null)], new CaseRecord(
                Plan: PlanType.ChildProtection, PlanStartedOn: D(6, 1, 2025),        // 9 months
                VisitDueOn: D(3, 9),                                                 // due yesterday, not done: out
                LastManagementOversightOn: D(3, 1))),                                // no supervision recorded: out
            Child("c3", "B", [P("B", 50, null)], new CaseRecord(
                Plan: PlanType.ChildInNeed, PlanStartedOn: D(1, 15, 2024),           // 26 months: over 2 years
                VisitDueOn: D(3, 20),                                                // not due yet: not counted
                AssessmentStartedOn: D(1, 5), AssessmentCompletedOn: D(3, 9),        // exactly 45 working days: in
                LastSupervisionOn: D(1, 27))),                                       // 42 days: in (boundary)
            Child("c4", "B", [P("B", 40, null)], new CaseRecord(
                AssessmentStartedOn: D(12, 1, 2025),                                 // open, ~64 working days: late
                LastSupervisionOn: D(3, 10),                                         // today
                LastManagementOversightOn: D(1, 27))),                               // 42 days: in
            Child("c5", "B", [P("B", 30, null)], new CaseRecord(
                Plan: PlanType.ChildLookedAfter,
                VisitDueOn: D(3, 10), VisitDoneOn: D(3, 10),                         // due and done today: in
                AssessmentStartedOn: D(2, 20),                                       // open, 12 working days: not counted yet
                LastSupervisionOn: D(1, 26),                                         // 43 days: out
                LastManagementOversightOn: D(3, 2))),
            Child("u1", null, [], waitingHours: 30),
            Child("u2", null, [], waitingHours: 5),
        };

        var breaches = new[] { 2, 30, 6 * 24, 8 * 24 }
            .Select(h => new EscalatedBreach("u1", At.AddDays(-9), At.AddDays(-8), At.AddHours(-h), []))
            .ToList();
        return new TeamSnapshot(10m, workers, children, breaches);
    }

    [Fact]
    public void Team_counts_from_the_hand_worked_fixture()
    {
        var m = ThresholdChecks.Measure(Fixture(), At, Options);

        (decimal, decimal) Of(string kpi) => (m[kpi].Numerator, m[kpi].Denominator);
        IEnumerable<string> Behind(string kpi) => m[kpi].Behind.Select(b => b.Id);

        // Caseholders: A, B, C (the manager has ceiling 0 and no cases; the leaver is out). At or under their own
        // ceiling: A (2/3), C (0/2); B holds 3 of 2. All three hold 18 or fewer.
        Assert.Equal((3m, 3m), Of(KpiCatalog.Caseloads18OrLess));
        Assert.Equal((2m, 3m), Of(KpiCatalog.CaseloadsAtOrUnderCeiling));
        Assert.Equal(["B"], Behind(KpiCatalog.CaseloadsAtOrUnderCeiling));
        Assert.Equal((5m, 3m), Of(KpiCatalog.AverageCaseload));
        Assert.Equal(3m, m[KpiCatalog.MaxCaseload].Numerator);
        Assert.Equal(1m, m[KpiCatalog.OverridesInForce].Numerator);
        Assert.Equal(["u1", "u2"], Behind(KpiCatalog.UnallocatedNow));
        Assert.Equal(30m, m[KpiCatalog.LongestWaitHours].Numerator);
        Assert.Equal(["u1"], Behind(KpiCatalog.LongestWaitHours));       // 30 hours; u2's 5 hours is not within 8 of 24
        // Breaches 2 h, 30 h, 6 days and 8 days ago: 1 in the last day, 3 in the last week.
        Assert.Equal(1m, m[KpiCatalog.BreachesLastDay].Numerator);
        Assert.Equal(3m, m[KpiCatalog.BreachesLastWeek].Numerator);
        Assert.Equal((2m, 7m), Of(KpiCatalog.ChildrenOverThreeWorkers));
        Assert.Equal(["c1", "c2"], Behind(KpiCatalog.ChildrenOverThreeWorkers));
        // Permanent FTE in post: A 1 + B 1 + manager 1 (C is agency, the leaver does not count): 7 of 10 funded vacant.
        Assert.Equal((7m, 10m), Of(KpiCatalog.Vacancy));
        Assert.Equal(["C"], Behind(KpiCatalog.Vacancy));
        Assert.Equal((0.5m, 3.5m), Of(KpiCatalog.AgencyShare));
        Assert.Equal((0m, 10m), Of(KpiCatalog.OverEstablishment));
        // Visits due by today: c1 (in), c2 (out), c5 (in). c3's is not due yet; c4 has no visit dates.
        Assert.Equal((2m, 3m), Of(KpiCatalog.VisitsInTimescale));
        Assert.Equal((1m, 2m), Of(KpiCatalog.VisitsInTimescaleCp));
        Assert.Equal(["c2"], Behind(KpiCatalog.VisitsInTimescaleCp));
        Assert.Equal((1m, 1m), Of(KpiCatalog.VisitsInTimescaleCla));
        Assert.Equal((0m, 0m), Of(KpiCatalog.VisitsInTimescaleCin));
        // Assessments completed in the 30 days to today: c3 (on 9 March, in exactly 45 working days). c4's is still open.
        Assert.Equal((1m, 1m), Of(KpiCatalog.AssessmentsIn45WorkingDays));
        Assert.Equal((0m, 1m), Of(KpiCatalog.ChildrenSeenInAssessment)); // not recorded: not seen
        // Supervision due 42 days after the last one, or after the first allocation for a newer case: c1, c3 (boundary),
        // c4, and c5 (its last was 43 days ago, but it was allocated 30 days ago). c2 has none recorded.
        Assert.Equal((4m, 5m), Of(KpiCatalog.SupervisionIn6Weeks));
        Assert.Equal(["c2"], Behind(KpiCatalog.SupervisionIn6Weeks));
        // Oversight: c2, c4, c5 in; c1 (49 days) and c3 (none, allocated 50 days ago) out.
        Assert.Equal((3m, 5m), Of(KpiCatalog.OversightIn6Weeks));
        Assert.Equal((1m, 2m), Of(KpiCatalog.CpPlansOver18Months));
        Assert.Equal((1m, 1m), Of(KpiCatalog.CinPlansOver2Years));
        // No worker has supervision dates: none supervised in each of the last three months.
        Assert.Equal((0m, 3m), Of(KpiCatalog.StaffSupervisedThreeMonths));
    }

    [Fact]
    public void KPIs_and_RAG_from_the_hand_worked_fixture_with_the_plan_defaults()
    {
        var kpis = ThresholdChecks.Evaluate(ThresholdChecks.Measure(Fixture(), At, Options), null, null).ToDictionary(k => k.Id);

        void Is(string id, decimal? value, Rag rag)
        {
            Assert.Equal(value, kpis[id].Value);
            Assert.Equal(rag, kpis[id].Rag);
        }

        Is(KpiCatalog.Caseloads18OrLess, 100m, Rag.Green);               // KPI 2 as the plan words it
        Is(KpiCatalog.CaseloadsAtOrUnderCeiling, 66.7m, Rag.Red);        // 2 of 3; target 85, 18.3 short, margin 5
        Is(KpiCatalog.AverageCaseload, 1.67m, Rag.None);                 // 5 / 3; no plan target
        Is(KpiCatalog.MaxCaseload, 3m, Rag.None);
        Is(KpiCatalog.OverridesInForce, 1m, Rag.None);
        Is(KpiCatalog.UnallocatedNow, 2m, Rag.None);
        Is(KpiCatalog.LongestWaitHours, 30m, Rag.Red);                   // over 24 hours: the target is all children
        Is(KpiCatalog.BreachesLastDay, 1m, Rag.Red);                     // any breach is red
        Is(KpiCatalog.BreachesLastWeek, 3m, Rag.Red);
        Is(KpiCatalog.ChildrenOverThreeWorkers, 28.6m, Rag.None);        // 2 of 7
        Is(KpiCatalog.Vacancy, 70m, Rag.Red);                            // (10 - 3) / 10: agency cover is still a vacancy
        Is(KpiCatalog.AgencyShare, 14.3m, Rag.Red);                      // 0.5 / 3.5; target 5, 9.3 over, margin 5
        Is(KpiCatalog.OverEstablishment, 0m, Rag.None);
        Is(KpiCatalog.VisitsInTimescale, 66.7m, Rag.Red);
        Is(KpiCatalog.VisitsInTimescaleCp, 50m, Rag.Red);
        Is(KpiCatalog.VisitsInTimescaleCin, null, Rag.None);
        Is(KpiCatalog.AssessmentsIn45WorkingDays, 100m, Rag.Green);
        Is(KpiCatalog.SupervisionIn6Weeks, 80m, Rag.Red);
        Is(KpiCatalog.OversightIn6Weeks, 60m, Rag.Red);
        Is(KpiCatalog.CpPlansOver18Months, 50m, Rag.Red);
        Is(KpiCatalog.CinPlansOver2Years, 100m, Rag.None);
        Is(KpiCatalog.TransferPointsPerChild, 0m, Rag.None);
        Is(KpiCatalog.ReReferralsWithin12Months, null, Rag.None);        // no referral dates in this fixture
        Assert.Equal((2m, 3m), (kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Numerator, kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Denominator));
        Assert.Equal(KpiCatalog.All.Select(k => k.Id), kpis.Keys);
    }

    [Fact]
    public void An_authority_target_and_margin_replace_the_default()
    {
        var measures = ThresholdChecks.Measure(Fixture(), At, Options);
        var targets = new Dictionary<string, KpiTarget>
        {
            [KpiCatalog.CaseloadsAtOrUnderCeiling] = new() { Target = 70m },                  // 3.3 short, default margin 5: amber
            [KpiCatalog.AverageCaseload] = new() { Target = 16m },                            // now rated: 1.67 is under 16
            [KpiCatalog.Vacancy] = new() { AmberMargin = 60m },                               // 60 over 10, margin 60: amber
        };

        var kpis = ThresholdChecks.Evaluate(measures, targets, null).ToDictionary(k => k.Id);

        Assert.Equal(Rag.Amber, kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Rag);
        Assert.Equal(Rag.Green, kpis[KpiCatalog.AverageCaseload].Rag);
        Assert.Equal((10m, 60m, Rag.Amber), (kpis[KpiCatalog.Vacancy].Target, kpis[KpiCatalog.Vacancy].AmberMargin, kpis[KpiCatalog.Vacancy].Rag));
    }

    [Theory]
    [InlineData("85", "85", KpiDirection.HigherIsBetter, Rag.Green)]
    [InlineData("80", "85", KpiDirection.HigherIsBetter, Rag.Amber)]   // exactly the margin short
    [InlineData("79.9", "85", KpiDirection.HigherIsBetter, Rag.Red)]
    [InlineData("10", "10", KpiDirection.LowerIsBetter, Rag.Green)]
    [InlineData("15", "10", KpiDirection.LowerIsBetter, Rag.Amber)]
    [InlineData("15.1", "10", KpiDirection.LowerIsBetter, Rag.Red)]
    [InlineData("3", null, KpiDirection.LowerIsBetter, Rag.None)]
    public void RAG_is_green_at_target_amber_within_the_margin_red_beyond(string value, string? target, KpiDirection direction, Rag expected) =>
        Assert.Equal(expected, ThresholdChecks.Rate(
            decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            target is null ? null : decimal.Parse(target, System.Globalization.CultureInfo.InvariantCulture), direction, 5m));

    [Fact]
    public void No_data_is_not_rated_and_not_zero()
    {
        var empty = new TeamSnapshot(null, [], [], []);
        var kpis = ThresholdChecks.Evaluate(ThresholdChecks.Measure(empty, At, Options), null, null).ToDictionary(k => k.Id);

        Assert.Null(kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Value);
        Assert.Null(kpis[KpiCatalog.Vacancy].Value);
        Assert.Null(kpis[KpiCatalog.VisitsInTimescale].Value);
        Assert.Equal(Rag.None, kpis[KpiCatalog.VisitsInTimescale].Rag);
        Assert.Equal(0m, kpis[KpiCatalog.UnallocatedNow].Value);
    }

    private static TeamMeasures Measures(params (string Kpi, decimal Numerator, decimal Denominator)[] tallies) =>
        new(tallies.ToDictionary(t => t.Kpi, t => new Tally(t.Numerator, t.Denominator, [])));

    [Fact]
    public void The_authority_figure_is_the_sum_of_team_counts_not_an_average_of_percentages()
    {
        // Team t1: 1 caseholder of 1 at or under (100%); team t2: 1 of 3 (33.3%). Authority: 2 of 4 = 50%, not 66.7%.
        var t1 = Measures((KpiCatalog.CaseloadsAtOrUnderCeiling, 1, 1), (KpiCatalog.MaxCaseload, 4, 1), (KpiCatalog.LongestWaitHours, 2, 1));
        var t2 = Measures((KpiCatalog.CaseloadsAtOrUnderCeiling, 1, 3), (KpiCatalog.MaxCaseload, 20, 1), (KpiCatalog.LongestWaitHours, 26, 1),
            (KpiCatalog.Vacancy, 1, 5));

        var report = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 10), At, [("t2", "Two", t2), ("t1", "One", t1)], null, null);

        var authority = report.Authority.ToDictionary(k => k.Id);
        Assert.Equal(50m, authority[KpiCatalog.CaseloadsAtOrUnderCeiling].Value);
        Assert.Equal(20m, authority[KpiCatalog.MaxCaseload].Value);
        Assert.Equal(26m, authority[KpiCatalog.LongestWaitHours].Value);
        // Only t2's establishment is known: vacancy 1 of 5.
        Assert.Equal(20m, authority[KpiCatalog.Vacancy].Value);
        Assert.Equal(["t1", "t2"], report.Teams.Select(t => t.TeamId));
    }

    [Fact]
    public void Previous_nights_value_and_rating_give_the_trend()
    {
        var yesterday = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 9), At.AddDays(-1),
            [("t", "T", Measures((KpiCatalog.CaseloadsAtOrUnderCeiling, 3, 4), (KpiCatalog.BreachesLastDay, 1, 0)))], null, null);
        var today = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 10), At,
            [("t", "T", Measures((KpiCatalog.CaseloadsAtOrUnderCeiling, 4, 4), (KpiCatalog.BreachesLastDay, 1, 0)))], null, yesterday);

        var caseloads = today.Teams[0].Kpis.Single(k => k.Id == KpiCatalog.CaseloadsAtOrUnderCeiling);
        Assert.Equal((75m, Rag.Red, 100m, Rag.Green, Trend.Better), (caseloads.Previous, caseloads.PreviousRag, caseloads.Value, caseloads.Rag, caseloads.Trend));
        Assert.Equal(Trend.Same, today.Authority.Single(k => k.Id == KpiCatalog.BreachesLastDay).Trend);
        Assert.Equal(Trend.None, yesterday.Authority.Single(k => k.Id == KpiCatalog.BreachesLastDay).Trend);
    }
}
