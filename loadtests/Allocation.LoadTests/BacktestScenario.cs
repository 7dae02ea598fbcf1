using Allocation.Grains;
using Allocation.Grains.Advice;

namespace Allocation.LoadTests;

/// <summary>
/// Backtests the pressure forecast over generated history: for every team and every day after the first eight weeks,
/// the forecast is made from what was known at the end of that day (the last weeks' counts, the queue, the workers and
/// the leave recorded by then) and its waiting children 1, 3 and 7 days on are compared with what happened; so is the
/// naive forecast, the same weekday a week earlier. Figures are mean absolute errors in children.
/// <c>backtest [--teams 20] [--days 365] [--seed 42]</c>
/// </summary>
public static class BacktestScenario
{
    public static readonly int[] Horizons = [1, 3, 7];

    public sealed record Result(int Teams, int Days, int Origins, IReadOnlyDictionary<int, double> Model, IReadOnlyDictionary<int, double> Naive, double MeanWaiting);

    public static int Run(string[] args)
    {
        var values = RunOptions.Pairs(args, 0);
        int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
        var result = Backtest(Int("teams", 20), Int("days", 365), Int("seed", 42));
        Console.WriteLine($"Backtest: {result.Teams} teams x {result.Days} days, {result.Origins} forecast origins per horizon; mean waiting {result.MeanWaiting:0.00} children");
        Console.WriteLine("horizon  model MAE  naive MAE  model vs naive");
        foreach (var h in Horizons)
        {
            var (m, n) = (result.Model[h], result.Naive[h]);
            Console.WriteLine($"{h,4} d   {m,8:0.000}   {n,8:0.000}   {(m < n ? "better" : "worse")} by {Math.Abs(n - m):0.000} ({100 * (n - m) / n:+0.0;-0.0}%)");
        }

        return 0;
    }

    public static Result Backtest(int teams, int days, int seed, int historyDays = 56)
    {
        var rules = new AllocationOptions();
        var first = new DateOnly(2025, 12, 1);
        var modelErrors = Horizons.ToDictionary(h => h, _ => 0.0);
        var naiveErrors = Horizons.ToDictionary(h => h, _ => 0.0);
        var origins = 0;
        var waitingSum = 0.0;
        var waitingDays = 0;
        for (var t = 0; t < teams; t++)
        {
            var history = SyntheticHistory.Generate($"T{t}", seed * 1000 + t, first, days, rules);
            var counts = history.Days.Select(d => d.Counts).ToList();
            waitingSum += counts.Sum(c => c.WaitingAtEnd);
            waitingDays += counts.Count;
            for (var origin = historyDays; origin + Horizons.Max() < days; origin++)
            {
                var known = history.Days[origin];
                var input = new ForecastInput($"T{t}", $"T{t}",
                    new DateTimeOffset(counts[origin].Date.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
                    counts.Skip(origin + 1 - historyDays).Take(historyDays).ToList(), known.WaitingDeadlines, known.Workers);
                var forecast = PressureForecaster.Forecast(input, Horizons.Max(), rules);
                foreach (var h in Horizons)
                {
                    var actual = counts[origin + h].WaitingAtEnd;
                    modelErrors[h] += Math.Abs(forecast.Days[h - 1].Waiting - actual);
                    naiveErrors[h] += Math.Abs(counts[origin + h - 7].WaitingAtEnd - actual);
                }

                origins++;
            }
        }

        var perHorizon = origins;
        return new Result(teams, days, perHorizon,
            Horizons.ToDictionary(h => h, h => modelErrors[h] / perHorizon),
            Horizons.ToDictionary(h => h, h => naiveErrors[h] / perHorizon),
            waitingSum / waitingDays);
    }
}
