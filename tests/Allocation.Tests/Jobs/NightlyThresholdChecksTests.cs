using System.Text.Json;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Service.Jobs;
using Allocation.Service.Reports;
using Allocation.Service.Seeding;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Allocation.Tests.Jobs;

/// <summary>
/// A small authority on its own cluster (so no other test's teams are in it), seeded once: one team of two workers
/// with an establishment of 4 FTE, three children allocated, one waiting 30 hours with its breach recorded.
/// </summary>
public sealed class SeededAuthorityFixture : IAsyncLifetime
{
    public ClusterFixture Cluster { get; } = new();

    public Scenario Scenario { get; private set; } = null!;

    public string TeamId { get; private set; } = "";

    public DateTimeOffset SeededAt { get; private set; }

    public async Task InitializeAsync()
    {
        await Cluster.InitializeAsync();
        Scenario = new Scenario(Cluster.Grains);
        SeededAt = Cluster.Time.GetUtcNow();
        var s = Scenario;
        TeamId = await s.Team("north");
        await s.TeamGrain(TeamId).SetEstablishment(4m);
        var w1 = await s.Worker("w1", TeamId);
        var w2 = await s.Worker("w2", TeamId, ceiling: 1);
        await s.WorkerGrain(w2).Upsert(new("w2", TeamId, WorkerRole.SocialWorker, 1m, 1, Agency: true));
        var c1 = await s.Allocated("c1", TeamId, w1);
        await s.Allocated("c2", TeamId, w1);
        await s.Allocated("c3", TeamId, w2);
        var waiting = await s.Referred("c4", TeamId);

        var today = UkCalendar.DateOf(SeededAt);
        var record = await s.Child(c1).UpdateCaseRecord(new UpdateCaseRecord(s.NewRequestId(), new CaseRecord(
            Plan: PlanType.ChildProtection, PlanStartedOn: today.AddYears(-2),
            VisitDueOn: today, VisitDoneOn: today,
            LastSupervisionOn: today.AddDays(-10), LastManagementOversightOn: today.AddDays(-50))));
        Assert.Null(record.Refusal);

        Cluster.Time.Advance(TimeSpan.FromHours(30));
        // The reminder runs on real time; the clock check is what it would call.
        await s.Child(waiting).CheckClock();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public class NightlyThresholdChecksTests(SeededAuthorityFixture authority) : IClassFixture<SeededAuthorityFixture>
{
    private readonly RecordingBoardPublisher _boards = new();

    private readonly InMemoryForecastStore _forecasts = new();

    private NightlyThresholdChecks Job(IReportStore store, TimeProvider? time = null) => new(
        authority.Cluster.Grains, store, _boards,
        new PressureForecasts(authority.Cluster.Grains, authority.Cluster.ClosedCases, _forecasts, Microsoft.Extensions.Options.Options.Create(new Allocation.Grains.AllocationOptions()),
            Microsoft.Extensions.Options.Options.Create(new Allocation.Grains.Advice.AdviceOptions()), Microsoft.Extensions.Options.Options.Create(new NightlyChecksOptions())),
        Microsoft.Extensions.Options.Options.Create(new NightlyChecksOptions()),
        time ?? authority.Cluster.Time, NullLogger<NightlyThresholdChecks>.Instance);

    [Fact]
    public async Task The_night_stores_a_seven_day_forecast_for_the_authority_and_each_team()
    {
        var report = await Job(new InMemoryReportStore()).RunAsync();

        var stored = await _forecasts.GetAsync(report.Date);
        Assert.Equal(report.Teams.Count + 1, stored.Count);
        Assert.Equal(ForecastApiIds.Authority, stored[0].TeamId);
        Assert.All(stored, f => Assert.Equal(7, f.Days.Count));
        Assert.Equal(report.Date, stored[0].Days[0].Date);
        // The authority's days are the sums of its teams'.
        Assert.Equal(stored.Skip(1).Sum(f => f.Days[6].Waiting), stored[0].Days[6].Waiting, 1);
    }

    [Fact]
    public async Task The_demo_history_is_ninety_rated_nights_before_tonight_whose_figures_move()
    {
        var store = new InMemoryReportStore();
        var now = authority.Cluster.Time.GetUtcNow();

        await DemoReportHistory.SeedAsync(authority.Cluster.Grains, store, new Dictionary<string, KpiTarget>(), now, CancellationToken.None);

        var today = UkCalendar.DateOf(now);
        var dates = await store.GetDatesAsync();
        Assert.Equal(DemoReportHistory.Nights, dates.Count);
        Assert.Equal((today.AddDays(-DemoReportHistory.Nights), today.AddDays(-1)), (dates[0], dates[^1]));
        var waiting = await store.GetHistoryAsync(KpiCatalog.UnallocatedNow, authority.TeamId, dates[0], dates[^1]);
        Assert.Equal(DemoReportHistory.Nights, waiting.Count);
        Assert.True(waiting.Select(p => p.Value).Distinct().Count() > 1, "a sparkline of one value is no trend");
        var breaches = await store.GetHistoryAsync(KpiCatalog.BreachesLastDay, authority.TeamId, dates[0], dates[^1]);
        Assert.All(breaches, p => Assert.NotEqual(Rag.None, p.Rag)); // rated as a real night is
        // Made-up nights carry counts only: no child is named behind a figure that never happened.
        Assert.Empty(await store.GetBehindAsync(dates[^1], KpiCatalog.UnallocatedNow, null));
    }

    [Fact]
    public async Task A_saved_report_is_announced_to_the_leaders_boards_with_its_rag_counts()
    {
        var store = new InMemoryReportStore();

        var report = await Job(store).RunAsync();

        var notice = Assert.Single(_boards.Reports);
        Assert.Equal(report.Date, notice.Date);
        Assert.Equal(report.RunAt, notice.RunAt);
        Assert.Equal(report.Authority.Count(k => k.Rag == Rag.Red), notice.Red);
        Assert.Equal(report.Authority.Count(k => k.Rag == Rag.Green), notice.Green);
        Assert.NotNull(await store.GetAsync(notice.Date)); // announced after it was saved
    }

    private sealed class RecordingBoardPublisher : Allocation.Grains.Boards.IBoardPublisher
    {
        public List<Allocation.Grains.Boards.ReportSaved> Reports { get; } = [];

        public Task Publish(Allocation.Grains.Boards.TeamBoardDelta delta) => Task.CompletedTask;

        public Task Publish(Allocation.Grains.Boards.WorkerBoardDelta delta) => Task.CompletedTask;

        public Task Publish(Allocation.Grains.Boards.OverviewDelta delta) => Task.CompletedTask;

        public Task Publish(Allocation.Grains.Boards.ReportSaved notice)
        {
            Reports.Add(notice);
            return Task.CompletedTask;
        }

        public void Invalidate()
        {
        }
    }

    [Fact]
    public async Task The_job_over_a_seeded_authority_produces_the_expected_report()
    {
        var store = new InMemoryReportStore();

        var report = await Job(store).RunAsync();

        // Seeded Monday 2 Nov 2026 09:00 UTC, run 30 hours later: Tuesday 3 Nov (GMT, so the UK date too).
        Assert.Equal(new DateOnly(2026, 11, 3), report.Date);
        var team = Assert.Single(report.Teams);
        Assert.Equal(authority.TeamId, team.TeamId);
        var kpis = report.Authority.ToDictionary(k => k.Id);

        void Is(string id, decimal? value, Rag rag)
        {
            Assert.Equal(value, kpis[id].Value);
            Assert.Equal(rag, kpis[id].Rag);
        }

        Is(KpiCatalog.Caseloads18OrLess, 100m, Rag.Green);           // w1 2, w2 1: both 18 or less
        Is(KpiCatalog.CaseloadsAtOrUnderCeiling, 100m, Rag.Green);   // w1 2 of 18, w2 1 of 1
        Is(KpiCatalog.AverageCaseload, 1.5m, Rag.None);
        Is(KpiCatalog.MaxCaseload, 2m, Rag.None);
        Is(KpiCatalog.UnallocatedNow, 1m, Rag.None);
        Is(KpiCatalog.LongestWaitHours, 30m, Rag.Red);               // c4 referred 30 hours ago: over 24 is red
        Is(KpiCatalog.BreachesLastDay, 1m, Rag.Red);                 // c4's breach, recorded just now: any breach is red
        Is(KpiCatalog.BreachesLastWeek, 1m, Rag.Red);
        Is(KpiCatalog.ChildrenOverThreeWorkers, 0m, Rag.None);
        Is(KpiCatalog.Vacancy, 75m, Rag.Red);                        // 4 funded, 1 permanent: w2's post is agency-covered, so vacant
        Is(KpiCatalog.AgencyShare, 50m, Rag.Red);                    // w2 is agency: 1 of 2 FTE
        Is(KpiCatalog.OverEstablishment, 0m, Rag.None);
        Is(KpiCatalog.VisitsInTimescale, 33.3m, Rag.Red);            // c1's visit, done the day it was due; c2, c3: no record
        Is(KpiCatalog.VisitsInTimescaleCp, 100m, Rag.Green);         // c1 is on a CP plan
        Is(KpiCatalog.AssessmentsIn45WorkingDays, null, Rag.None);   // no assessment data
        Is(KpiCatalog.SupervisionIn6Weeks, 100m, Rag.Green);         // c1 10 days before; c2, c3 allocated a day ago: not yet due
        Is(KpiCatalog.OversightIn6Weeks, 100m, Rag.Green);           // c1's was 51 days ago, but it was allocated a day ago
        Is(KpiCatalog.CpPlansOver18Months, 100m, Rag.Red);           // c1's plan is 2 years old
        Assert.Equal(2, kpis[KpiCatalog.VisitsInTimescale].NoRecord);
        Assert.All(report.Authority, k => Assert.Null(k.Previous));
        Assert.Equal(Json(report.Authority), Json(team.Kpis));
    }

    [Fact]
    public async Task Running_twice_for_the_same_night_stores_one_identical_report()
    {
        var store = new InMemoryReportStore();

        var first = await Job(store).RunAsync();
        var second = await Job(store).RunAsync();

        Assert.Equal(Json(first), Json(second));
        Assert.Equal([first.Date], await store.GetDatesAsync());
        Assert.Equal(Json(first), Json((await store.GetLatestAsync())!));
    }

    [Fact]
    public async Task A_run_that_fails_before_saving_leaves_nothing_and_the_rerun_gives_the_same_report()
    {
        var reference = await Job(new InMemoryReportStore()).RunAsync();
        var store = new FailingOnceStore();

        await Assert.ThrowsAsync<IOException>(() => Job(store).RunAsync());
        Assert.Empty(await store.GetDatesAsync());

        var rerun = await Job(store).RunAsync();
        Assert.Equal(Json(reference), Json(rerun));
        Assert.Single(await store.GetDatesAsync());
    }

    [Fact]
    public async Task The_next_nights_report_carries_the_previous_value_and_trend()
    {
        var store = new InMemoryReportStore();
        await Job(store).RunAsync();
        // The job measures every team as at its own clock's time, so the next night needs no change to the cluster's.
        var tomorrow = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(authority.Cluster.Time.GetUtcNow().AddDays(1));

        var next = await Job(store, tomorrow).RunAsync();

        var breaches = next.Authority.Single(k => k.Id == KpiCatalog.BreachesLastDay);
        // The breach is now more than a day old: 1 last night, 0 tonight, which is better.
        Assert.Equal((0m, 1m, Rag.Red, Trend.Better), (breaches.Value, breaches.Previous, breaches.PreviousRag, breaches.Trend));
        Assert.Equal(2, (await store.GetDatesAsync()).Count);
        var history = await store.GetHistoryAsync(KpiCatalog.BreachesLastDay, null, DateOnly.MinValue, DateOnly.MaxValue);
        Assert.Equal([1m, 0m], history.Select(p => p.Value));
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, ReportJson.Options);

    private sealed class FailingOnceStore : IReportStore
    {
        private readonly InMemoryReportStore _inner = new();
        private bool _failed;

        public Task SaveAsync(ThresholdReport report, IReadOnlyList<KpiBehind>? behind = null, CancellationToken cancellationToken = default)
        {
            if (!_failed)
            {
                _failed = true;
                throw new IOException("The process died while saving.");
            }

            return _inner.SaveAsync(report, behind, cancellationToken);
        }

        public Task<IReadOnlyList<KpiBehind>> GetBehindAsync(DateOnly date, string kpiId, string? teamId, CancellationToken cancellationToken = default) =>
            _inner.GetBehindAsync(date, kpiId, teamId, cancellationToken);

        public Task<ThresholdReport?> GetAsync(DateOnly date, CancellationToken cancellationToken = default) => _inner.GetAsync(date, cancellationToken);

        public Task<ThresholdReport?> GetLatestAsync(CancellationToken cancellationToken = default) => _inner.GetLatestAsync(cancellationToken);

        public Task<ThresholdReport?> GetLatestBeforeAsync(DateOnly date, CancellationToken cancellationToken = default) => _inner.GetLatestBeforeAsync(date, cancellationToken);

        public Task<IReadOnlyList<DateOnly>> GetDatesAsync(CancellationToken cancellationToken = default) => _inner.GetDatesAsync(cancellationToken);

        public Task<IReadOnlyList<KpiPoint>> GetHistoryAsync(string kpiId, string? teamId, DateOnly from, DateOnly to, CancellationToken cancellationToken = default) =>
            _inner.GetHistoryAsync(kpiId, teamId, from, to, cancellationToken);
    }
}
