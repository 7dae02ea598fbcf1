using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;
using Allocation.LoadTests;

namespace Allocation.Tests.Advice;

public class PressureForecasterTests
{
    // A Monday, 08:00 in London.
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private static readonly AllocationOptions Rules = new();

    private static List<DayCounts> Steady(int weekday, int weekend) =>
        Enumerable.Range(1, 56).Select(k => UkCalendar.DateOf(Now).AddDays(-k))
            .Select(d => d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? new DayCounts(d, weekend, weekend, weekend, 0) : new DayCounts(d, weekday, weekday, weekday, 0))
            .OrderBy(d => d.Date).ToList();

    [Fact]
    public void Arrivals_follow_the_weekday_pattern_of_the_last_weeks()
    {
        var history = Steady(2, 0).Select(d => d.Date.DayOfWeek == DayOfWeek.Monday ? d with { Arrivals = 10 } : d).ToList();
        var arrivals = PressureForecaster.FitArrivals(history);
        var monday = UkCalendar.DateOf(Now).AddDays(7);
        Assert.Equal(10, arrivals(monday, 7), 3);
        Assert.Equal(2, arrivals(monday.AddDays(1), 8), 3);
        Assert.Equal(0, arrivals(monday.AddDays(5), 12), 3);
    }

    [Fact]
    public void A_team_with_room_and_a_steady_pattern_stays_green_with_no_breaches()
    {
        var workers = Enumerable.Range(0, 8).Select(_ => new ForecastWorker(18, 12, [])).ToList();
        var f = PressureForecaster.Forecast(new ForecastInput("T", "Steady", Now, Steady(2, 0), [], workers), 7, Rules);

        Assert.Equal(7, f.Days.Count);
        Assert.All(f.Days, d => Assert.Equal(Rag.Green, d.Rag));
        Assert.Equal(0, f.ExpectedBreaches);
        Assert.Null(f.RedFrom);
        Assert.Equal("Steady: green all week, no breaches expected", f.Headline);
    }

    [Fact]
    public void Leave_starting_midweek_hands_children_back_and_turns_the_team_red_from_the_next_day()
    {
        var leaveStarts = Now.AddDays(2).AddHours(1); // Wednesday morning
        var workers = new List<ForecastWorker>
        {
            new(18, 17, []), new(18, 17, []), new(18, 16, []),
            new(18, 18, [new Absence(leaveStarts, leaveStarts.AddDays(14), "planned leave")]),
        };
        var f = PressureForecaster.Forecast(new ForecastInput("T", "Assessment South", Now, Steady(1, 0), [], workers), 7, Rules);

        var today = UkCalendar.DateOf(Now);
        Assert.Equal(today.AddDays(3), f.RedFrom);
        Assert.All(f.Days.Take(3), d => Assert.NotEqual(Rag.Red, d.Rag));
        Assert.True(f.ExpectedBreaches >= 10, $"expected breaches {f.ExpectedBreaches}");
        Assert.StartsWith("Assessment South: red from Thursday, ", f.Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void Children_already_past_their_deadline_are_not_counted_again_as_expected_breaches()
    {
        var workers = new List<ForecastWorker> { new(18, 18, []) };
        var f = PressureForecaster.Forecast(new ForecastInput("T", "Full", Now, Steady(0, 0), [Now.AddHours(-3), Now.AddHours(-1)], workers), 7, Rules);
        Assert.Equal(0, f.ExpectedBreaches);
        Assert.Equal(2, f.Days[^1].Waiting, 3);
    }

    [Fact]
    public void A_team_that_meets_its_deadlines_allocates_a_queue_that_falls_due_as_far_as_its_places_go()
    {
        // Every other child waits overnight (half the queue allocated a day), yet none has passed 24 hours. No closures,
        // so the places free are the ones the workers have now.
        var history = Enumerable.Range(1, 56).Select(k => UkCalendar.DateOf(Now).AddDays(-k)).OrderBy(d => d)
            .Select(d => new DayCounts(d, 2, 2, 0, 2)).ToList();
        DateTimeOffset[] dueToday = [.. Enumerable.Range(1, 6).Select(h => Now.AddHours(h))];
        List<ForecastWorker> Workers(int free) => [new(18, 18 - free, []), new(18, 18, [])];

        var room = PressureForecaster.Forecast(new ForecastInput("T", "Room", Now, history, dueToday, Workers(10)), 7, Rules);
        Assert.Equal(0, room.Days[0].ExpectedBreaches, 3); // at half the queue a day, 2.3 would breach today
        Assert.NotEqual(Rag.Red, room.Days[0].Rag);

        var full = PressureForecaster.Forecast(new ForecastInput("T", "Full", Now, history, dueToday, Workers(3)), 7, Rules);
        Assert.Equal(3, full.Days[0].ExpectedBreaches, 3); // three places for six children due
        Assert.Equal(UkCalendar.DateOf(Now), full.RedFrom);
    }

    [Fact]
    public void The_history_counts_closed_cases_and_their_closures_as_well_as_open_children()
    {
        var day = (int k) => Now.AddDays(-k).AddHours(2); // 10:00 k days ago
        TeamChildSummary Child(string id, DateTimeOffset clock, DateTimeOffset? allocated, string? worker) =>
            new(id, 1, worker, worker is null ? null : allocated, clock, clock.AddHours(24), "referral", false, 0,
                allocated is { } at ? [new WorkerPeriod("W1", "T", at, worker is null ? at.AddDays(1) : null, "allocation")] : []);
        var roster = new TeamRoster("T", "Team", [new TeamWorkerSummary("W1", "Ann", WorkerRole.SocialWorker, 1, 18, [], false, 0)],
        [
            Child("open-allocated", day(3), day(3).AddHours(4), "W1"),
            Child("open-waiting", day(1), null, null),
            Child("imported", day(2), day(40), "W1"), // allocated before its clock: no queue spell
        ]);
        ClosedCase[] closed =
        [
            new(Child("closed-after-allocation", day(5), day(4), null), day(2)),
            new(Child("closed-while-waiting", day(6), null, null), day(4)), // closed a day after its deadline passed
        ];

        var input = ForecastReads.Input(roster, closed, Now, 14);
        (int, int, int, int) On(int k) =>
            input.History.Where(h => h.Date == UkCalendar.DateOf(day(k))).Select(h => (h.Arrivals, h.Allocations, h.Closures, h.WaitingAtEnd)).Single();

        // (arrivals, allocations, closures, waiting at the end of the day)
        Assert.Equal((1, 0, 0, 1), On(6)); // closed-while-waiting arrives
        Assert.Equal((1, 0, 0, 2), On(5)); // closed-after-allocation arrives; both wait
        Assert.Equal((0, 1, 1, 0), On(4)); // closed-after-allocation allocated; closed-while-waiting closes
        Assert.Equal((1, 1, 0, 0), On(3)); // open-allocated arrives and is allocated the same day
        Assert.Equal((0, 0, 1, 0), On(2)); // closed-after-allocation closes; the imported child is no arrival
        Assert.Equal((1, 0, 0, 1), On(1)); // open-waiting arrives
        Assert.Equal((4, 2, 2), (input.History.Sum(h => h.Arrivals), input.History.Sum(h => h.Allocations), input.History.Sum(h => h.Closures)));
        Assert.Single(input.WaitingDeadlines);
        // The one deadline passed without a worker: closed-while-waiting's, on day 5.
        Assert.Equal([UkCalendar.DateOf(day(5))], input.History.Where(h => h.Breaches > 0).Select(h => h.Date));
        Assert.Equal(0.75, PressureForecaster.OnTimeShare(input.History), 3);

        // With no closure recorded (a team loaded from another system), closures are taken to keep pace with allocations.
        var unknown = ForecastReads.Input(roster, [], Now, 14);
        Assert.All(unknown.History, h => Assert.Equal(h.Allocations, h.Closures));
        Assert.Equal(1, unknown.History.Sum(h => h.Closures));
    }

    [Fact]
    public void The_backtest_runs_over_generated_history_and_scores_both_forecasts()
    {
        var result = BacktestScenario.Backtest(teams: 2, days: 100, seed: 7);
        Assert.Equal(2 * (100 - 56 - 7), result.Origins);
        Assert.All(BacktestScenario.Horizons, h =>
        {
            Assert.InRange(result.Model[h], 0, 1000);
            Assert.InRange(result.Naive[h], 0, 1000);
        });
    }
}
