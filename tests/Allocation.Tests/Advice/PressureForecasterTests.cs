using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Kpis;
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
