using Allocation.Grains;
using Allocation.Grains.Advice;
using MathNet.Numerics.Distributions;

namespace Allocation.LoadTests;

/// <summary>
/// A year (or any number of days) of a team's daily life, for backtesting the pressure forecast: referrals with a
/// weekly pattern (busy Mondays, quiet weekends), a slow seasonal swing and shocks (a few days at two to three times
/// the usual rate, several times a year); allocations at a manager's weekday rate but never past the places free;
/// closures at a weekday hazard; sickness and planned leave (recorded ahead or on the day) that hand a worker's
/// children back to the queue, as the service does; leavers replaced weeks later by a newly qualified worker.
/// The same seed gives the same history.
/// </summary>
public sealed class SyntheticHistory
{
    /// <summary>Relative referral rate by weekday, Sunday first.</summary>
    private static readonly double[] Weekly = [0.2, 1.35, 1.15, 1.0, 1.0, 1.1, 0.25];

    /// <summary>The share of waiting children a manager allocates on a weekday, Sunday first.</summary>
    private static readonly double[] AllocationRate = [0.1, 0.75, 0.8, 0.8, 0.8, 0.7, 0.1];

    public sealed record Worker(int Ceiling, List<Absence> Absences, DateTimeOffset? LeftAt);

    /// <summary>What was known at the end of one day: the counts, the queue's deadlines, the workers, and the absences
    /// recorded by then (planned leave is recorded ahead; sickness on the day).</summary>
    public sealed record Day(DayCounts Counts, IReadOnlyList<DateTimeOffset> WaitingDeadlines, IReadOnlyList<ForecastWorker> Workers);

    public required string TeamId { get; init; }

    public required IReadOnlyList<Day> Days { get; init; }

    public static SyntheticHistory Generate(string teamId, int seed, DateOnly firstDay, int days, AllocationOptions options)
    {
        var random = new Random(seed);
        var workerCount = random.Next(7, 13);
        var workers = new List<(int Ceiling, double Caseload, List<(Absence Absence, DateTimeOffset RecordedAt)> Absences, DateOnly? Leaves, DateOnly? Joins)>();
        for (var i = 0; i < workerCount; i++)
        {
            var ceiling = random.NextDouble() < 0.15 ? 12 : random.NextDouble() < 0.2 ? 14 : 18;
            workers.Add((ceiling, Math.Round(ceiling * (0.75 + random.NextDouble() * 0.2)), [], null, null));
        }

        // Mean referrals a day sized so the team runs near, not past, its places: cases stay open about 100 working days.
        var places = workers.Sum(w => w.Ceiling);
        var baseRate = places * 0.85 / 140.0;
        var shocks = new List<(int Start, int Length, double Factor)>();
        for (var d = 0; d < days; d++)
        {
            if (random.NextDouble() < 6.0 / 365)
            {
                shocks.Add((d, random.Next(2, 6), 2 + random.NextDouble()));
            }
        }

        var queue = new List<(DateTimeOffset Deadline, int Count)>();
        var result = new List<Day>(days);
        for (var d = 0; d < days; d++)
        {
            var date = firstDay.AddDays(d);
            var start = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var noon = start.AddHours(12);
            var weekday = (int)date.DayOfWeek;

            // Staff: leavers go (their children back to the queue), replacements join, leave is planned or falls sick.
            for (var i = 0; i < workers.Count; i++)
            {
                var w = workers[i];
                if (w.Leaves is null && w.Joins is null && random.NextDouble() < 0.16 / 365)
                {
                    w.Leaves = date;
                    w.Joins = date.AddDays(random.Next(20, 60));
                    AddToQueue(queue, noon + options.AllocationWindow, (int)Math.Round(w.Caseload));
                    w.Caseload = 0;
                }
                else if (w.Joins == date)
                {
                    (w.Ceiling, w.Leaves, w.Joins) = (12, null, null);
                }

                if (w.Leaves is null && random.NextDouble() < 0.6 / 365)
                {
                    // Long sickness, recorded the day it starts.
                    var from = start.AddHours(8);
                    w.Absences.Add((new Absence(from, from.AddDays(random.Next(7, 35)), "sickness"), from));
                }

                if (w.Leaves is null && random.NextDouble() < 0.5 / 365)
                {
                    // Extended planned leave, recorded two to four weeks ahead.
                    var from = start.AddDays(random.Next(14, 28)).AddHours(8);
                    w.Absences.Add((new Absence(from, from.AddDays(random.Next(10, 25)), "planned leave"), start));
                }

                var startsToday = w.Absences.Any(a => a.Absence.From >= start && a.Absence.From < start.AddDays(1));
                if (startsToday && w.Caseload > 0)
                {
                    AddToQueue(queue, noon + options.AllocationWindow, (int)Math.Round(w.Caseload));
                    w.Caseload = 0;
                }

                workers[i] = w;
            }

            // Closures.
            var closures = 0;
            var hazard = weekday is 0 or 6 ? 1 / 600.0 : 1 / 100.0;
            for (var i = 0; i < workers.Count; i++)
            {
                var w = workers[i];
                var n = (int)Math.Round(w.Caseload);
                var closed = n == 0 ? 0 : Binomial.Sample(random, hazard, n);
                w.Caseload = n - closed;
                closures += closed;
                workers[i] = w;
            }

            // Referrals.
            var seasonal = 1 + 0.12 * Math.Sin(2 * Math.PI * (date.DayOfYear - 60) / 365.0);
            var shock = shocks.Where(s => d >= s.Start && d < s.Start + s.Length).Select(s => s.Factor).DefaultIfEmpty(1).Max();
            var arrivals = Poisson.Sample(random, Math.Max(0.01, baseRate * Weekly[weekday] * seasonal * shock));
            AddToQueue(queue, start.AddHours(random.Next(8, 18)) + options.AllocationWindow, arrivals);

            // Allocations: the day's share of the queue, earliest deadline first, into free places only.
            bool Available(int i) => workers[i].Leaves is null && !workers[i].Absences.Any(a => a.Absence.From <= noon && noon < a.Absence.To);
            var waiting = queue.Sum(q => q.Count);
            var free = Enumerable.Range(0, workers.Count).Where(Available).Sum(i => Math.Max(0, workers[i].Ceiling - (int)Math.Round(workers[i].Caseload)));
            var rate = Math.Clamp(AllocationRate[weekday] + (random.NextDouble() - 0.5) * 0.2, 0, 1);
            var allocations = Math.Min(Binomial.Sample(random, rate, waiting), free);
            for (var k = 0; k < allocations; k++)
            {
                var best = Enumerable.Range(0, workers.Count).Where(Available).MaxBy(i => workers[i].Ceiling - workers[i].Caseload);
                var w = workers[best];
                w.Caseload += 1;
                workers[best] = w;
            }

            TakeFromQueue(queue, allocations);
            var end = start.AddDays(1);
            var breaches = queue.Where(q => q.Deadline >= start && q.Deadline < end).Sum(q => q.Count);
            var known = workers.Where(w => w.Leaves is null).Select(w => new ForecastWorker(w.Ceiling, (int)Math.Round(w.Caseload),
                w.Absences.Where(a => a.RecordedAt < end).Select(a => a.Absence).ToList())).ToList();
            var deadlines = queue.SelectMany(q => Enumerable.Repeat(q.Deadline, q.Count)).ToList();
            result.Add(new Day(new DayCounts(date, arrivals, allocations, closures, deadlines.Count, breaches), deadlines, known));
        }

        return new SyntheticHistory { TeamId = teamId, Days = result };
    }

    private static void AddToQueue(List<(DateTimeOffset Deadline, int Count)> queue, DateTimeOffset deadline, int count)
    {
        if (count > 0)
        {
            queue.Add((deadline, count));
            queue.Sort((a, b) => a.Deadline.CompareTo(b.Deadline));
        }
    }

    private static void TakeFromQueue(List<(DateTimeOffset Deadline, int Count)> queue, int count)
    {
        while (count > 0 && queue.Count > 0)
        {
            var taken = Math.Min(count, queue[0].Count);
            count -= taken;
            queue[0] = (queue[0].Deadline, queue[0].Count - taken);
            if (queue[0].Count == 0)
            {
                queue.RemoveAt(0);
            }
        }
    }
}
