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

        // Caseholders: A, B, C (the manager has ceiling 0 and no cases; the leaver is out). At or under: A (2/3), C (0/2).
        Assert.Equal(3, m.Caseholders);
        Assert.Equal(2, m.CaseholdersAtOrUnderCeiling);
        Assert.Equal(5, m.CasesHeld);
        Assert.Equal(3, m.MaxCaseload);
        Assert.Equal(1, m.OverridesInForce);
        Assert.Equal(7, m.OpenChildren);
        Assert.Equal(2, m.Unallocated);
        Assert.Equal(30, m.LongestWaitHours, 6);
        // Breaches 2 h, 30 h, 6 days and 8 days ago: 1 in the last day, 3 in the last week.
        Assert.Equal(1, m.BreachesLastDay);
        Assert.Equal(3, m.BreachesLastWeek);
        Assert.Equal(2, m.ChildrenOverWorkerThreshold);
        Assert.Equal(1, m.NewlyOverWorkerThreshold);
        // Filled FTE: A 1 + B 1 + C 0.5 + manager 1 (the leaver does not count); agency: C's 0.5.
        Assert.Equal(10m, m.EstablishmentFte);
        Assert.Equal(3.5m, m.FilledFte);
        Assert.Equal(0.5m, m.AgencyFte);
        // Visits due by today: c1 (in), c2 (out), c5 (in). c3's is not due yet.
        Assert.Equal((3, 2), (m.VisitsDue, m.VisitsInTimescale));
        // Assessments: c3 completed in 45 working days (in), c4 open past 45 (late); c5 still within time, not counted.
        Assert.Equal((2, 1), (m.Assessments, m.AssessmentsInTimescale));
        // Supervision within 42 days: c1, c3, c4 of the 5 children with a case record.
        Assert.Equal((5, 3), (m.SupervisionRecords, m.SupervisionInTimescale));
        // Oversight within 42 days: c2, c4, c5.
        Assert.Equal((5, 3), (m.OversightRecords, m.OversightInTimescale));
        Assert.Equal((2, 1), (m.CpPlans, m.CpPlansOver18Months));
        Assert.Equal((1, 1), (m.CinPlans, m.CinPlansOver2Years));
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

        Is(KpiCatalog.CaseloadsAtOrUnderCeiling, 66.7m, Rag.Red);        // 2 of 3; target 85, 18.3 short, margin 5
        Is(KpiCatalog.AverageCaseload, 1.7m, Rag.None);                  // 5 / 3; no plan target
        Is(KpiCatalog.MaxCaseload, 3m, Rag.None);
        Is(KpiCatalog.OverridesInForce, 1m, Rag.None);
        Is(KpiCatalog.UnallocatedNow, 2m, Rag.None);
        Is(KpiCatalog.LongestWaitHours, 30m, Rag.Amber);                 // 6 hours over 24, within the 8-hour margin
        Is(KpiCatalog.BreachesLastDay, 1m, Rag.Amber);                   // target 0, margin 1
        Is(KpiCatalog.BreachesLastWeek, 3m, Rag.Amber);                  // target 0, margin 3
        Is(KpiCatalog.ChildrenOverThreeWorkers, 28.6m, Rag.None);        // 2 of 7
        Is(KpiCatalog.NewlyOverThreeWorkers, 1m, Rag.None);
        Is(KpiCatalog.Vacancy, 65m, Rag.Red);                            // (10 - 3.5) / 10
        Is(KpiCatalog.AgencyShare, 14.3m, Rag.Red);                      // 0.5 / 3.5; target 5, 9.3 over, margin 5
        Is(KpiCatalog.VisitsInTimescale, 66.7m, Rag.Red);
        Is(KpiCatalog.AssessmentsIn45WorkingDays, 50m, Rag.Red);
        Is(KpiCatalog.SupervisionIn6Weeks, 60m, Rag.Red);
        Is(KpiCatalog.OversightIn6Weeks, 60m, Rag.Red);
        Is(KpiCatalog.CpPlansOver18Months, 50m, Rag.Red);
        Is(KpiCatalog.CinPlansOver2Years, 100m, Rag.None);
        Assert.Equal((2, 3), (kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Numerator, kpis[KpiCatalog.CaseloadsAtOrUnderCeiling].Denominator));
        Assert.Equal(KpiCatalog.All.Select(k => k.Id), kpis.Keys);
    }

    [Fact]
    public void An_authority_target_and_margin_replace_the_default()
    {
        var measures = ThresholdChecks.Measure(Fixture(), At, Options);
        var targets = new Dictionary<string, KpiTarget>
        {
            [KpiCatalog.CaseloadsAtOrUnderCeiling] = new() { Target = 70m },                  // 3.3 short, default margin 5: amber
            [KpiCatalog.AverageCaseload] = new() { Target = 16m },                            // now rated: 1.7 is under 16
            [KpiCatalog.Vacancy] = new() { AmberMargin = 60m },                               // 55 over 10, margin 60: amber
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

    [Fact]
    public void The_authority_figure_is_the_sum_of_team_counts_not_an_average_of_percentages()
    {
        // Team t1: 1 caseholder of 1 at or under (100%); team t2: 1 of 3 (33.3%). Authority: 2 of 4 = 50%, not 66.7%.
        var t1 = TeamMeasures.Empty with { Caseholders = 1, CaseholdersAtOrUnderCeiling = 1, MaxCaseload = 4, LongestWaitHours = 2 };
        var t2 = TeamMeasures.Empty with { Caseholders = 3, CaseholdersAtOrUnderCeiling = 1, MaxCaseload = 20, LongestWaitHours = 26, EstablishmentFte = 5m, FilledFte = 4m };

        var report = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 10), At, [("t2", "Two", t2), ("t1", "One", t1)], null, null);

        var authority = report.Authority.ToDictionary(k => k.Id);
        Assert.Equal(50m, authority[KpiCatalog.CaseloadsAtOrUnderCeiling].Value);
        Assert.Equal(20m, authority[KpiCatalog.MaxCaseload].Value);
        Assert.Equal(26m, authority[KpiCatalog.LongestWaitHours].Value);
        // Only t2's establishment is known: vacancy (5 - 4) / 5.
        Assert.Equal(20m, authority[KpiCatalog.Vacancy].Value);
        Assert.Equal(["t1", "t2"], report.Teams.Select(t => t.TeamId));
    }

    [Fact]
    public void Previous_nights_value_and_rating_give_the_trend()
    {
        var yesterday = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 9), At.AddDays(-1),
            [("t", "T", TeamMeasures.Empty with { Caseholders = 4, CaseholdersAtOrUnderCeiling = 3, BreachesLastDay = 1 })], null, null);
        var today = ThresholdChecks.BuildReport(new DateOnly(2026, 3, 10), At,
            [("t", "T", TeamMeasures.Empty with { Caseholders = 4, CaseholdersAtOrUnderCeiling = 4, BreachesLastDay = 1 })], null, yesterday);

        var caseloads = today.Teams[0].Kpis.Single(k => k.Id == KpiCatalog.CaseloadsAtOrUnderCeiling);
        Assert.Equal((75m, Rag.Red, 100m, Rag.Green, Trend.Better), (caseloads.Previous, caseloads.PreviousRag, caseloads.Value, caseloads.Rag, caseloads.Trend));
        Assert.Equal(Trend.Same, today.Authority.Single(k => k.Id == KpiCatalog.BreachesLastDay).Trend);
        Assert.Equal(Trend.None, yesterday.Authority.Single(k => k.Id == KpiCatalog.BreachesLastDay).Trend);
    }
}
