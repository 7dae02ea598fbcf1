using Allocation.Grains.Kpis;
using MathNet.Numerics.LinearRegression;

namespace Allocation.Grains.Advice;

/// <summary>One past day of a team: children arriving in its queue (referrals and transfers in), children allocated,
/// cases closed (or transferred out), children waiting at the end of the day, and children whose 24-hour deadline
/// passed that day without a worker.</summary>
public sealed record DayCounts(DateOnly Date, int Arrivals, int Allocations, int Closures, int WaitingAtEnd, int Breaches = 0);

/// <summary>A worker as the forecast sees them: place count, and recorded leave (a worker going on leave hands their
/// children back to the queue, as the service does).</summary>
public sealed record ForecastWorker(int Ceiling, int Caseload, IReadOnlyList<Absence> Absences);

public sealed record ForecastInput(
    string TeamId,
    string Name,
    /// <summary>The forecast's start: day 1 is the UK date of this instant.</summary>
    DateTimeOffset Now,
    /// <summary>Complete days before today, oldest first.</summary>
    IReadOnlyList<DayCounts> History,
    /// <summary>The 24-hour deadlines of the children waiting now.</summary>
    IReadOnlyList<DateTimeOffset> WaitingDeadlines,
    IReadOnlyList<ForecastWorker> Workers);

[GenerateSerializer, Immutable]
public sealed record ForecastDay(
    [property: Id(0)] DateOnly Date,
    /// <summary>Children expected to be waiting at the end of the day.</summary>
    [property: Id(1)] double Waiting,
    /// <summary>Children expected to pass their 24-hour deadline on this day without a worker.</summary>
    [property: Id(2)] double ExpectedBreaches,
    [property: Id(3)] decimal PercentAtOrUnderCeiling,
    /// <summary>Places free across the workers available that day.</summary>
    [property: Id(4)] double FreePlaces,
    [property: Id(5)] Rag Rag,
    [property: Id(6)] int Caseholders,
    [property: Id(7)] int AtOrUnderCeiling);

[GenerateSerializer, Immutable]
public sealed record TeamForecast(
    [property: Id(0)] string TeamId,
    [property: Id(1)] string Name,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] IReadOnlyList<ForecastDay> Days,
    /// <summary>The first day forecast red, if any.</summary>
    [property: Id(4)] DateOnly? RedFrom,
    /// <summary>Breaches expected over the forecast's days, rounded.</summary>
    [property: Id(5)] int ExpectedBreaches,
    /// <summary>For the leaders' board: "red from Thursday, 3 breaches expected".</summary>
    [property: Id(6)] string Headline);

/// <summary>
/// The 7-day pressure forecast of a team, a day at a time:
/// arrivals from the weekday pattern of the last weeks (least squares on weekday indicators and a trend, MathNet);
/// allocations at the team's own rate for that weekday (allocated over waiting-plus-arrived), and at least the children
/// due that day in the share the team has allocated in time over the last weeks (a manager allocates the children
/// whose deadline is near first), but never more than the places free on the workers available that day; closures at the team's weekday rate, freeing places; a worker's
/// recorded leave hands their children back to the queue the day it starts. Waiting children are allocated in deadline
/// order, so those past 24 hours without a worker are the expected breaches. Pure.
/// </summary>
public static class PressureForecaster
{
    /// <summary>Time of day assumed for a forecast day's arrivals: their deadline is then this time the next day.</summary>
    private static readonly TimeSpan ArrivalTime = TimeSpan.FromHours(12);

    public static TeamForecast Forecast(ForecastInput input, int days, AllocationOptions options, KpiTarget? caseloadTarget = null)
    {
        var today = UkCalendar.DateOf(input.Now);
        var history = input.History.OrderBy(d => d.Date).ToList();
        var arrivals = FitArrivals(history);
        var (allocationRate, closures) = FitRates(history);
        var onTime = OnTimeShare(history);

        var caseloads = input.Workers.Select(w => (double)w.Caseload).ToArray();
        var handedBack = new bool[input.Workers.Count];
        // Children already past their deadline have breached already: they wait first, but are not expected breaches.
        var queue = input.WaitingDeadlines.GroupBy(d => d)
            .Select(g => new Cohort(g.Key, g.Count()) { Breached = g.Key <= input.Now }).OrderBy(c => c.Deadline).ToList();
        var result = new List<ForecastDay>(days);
        for (var d = 0; d < days; d++)
        {
            var date = today.AddDays(d);
            var dayStart = StartOf(date);
            var dayEnd = StartOf(date.AddDays(1));
            var noon = dayStart + ArrivalTime;
            var weekday = (int)date.DayOfWeek;

            // Leave starting today hands the worker's children back to the queue with new 24-hour clocks.
            var available = new bool[input.Workers.Count];
            for (var i = 0; i < input.Workers.Count; i++)
            {
                var absence = AllocationRules.AbsenceAt(input.Workers[i].Absences, noon);
                available[i] = absence is null;
                // Leave already running at the start was handled by the service then; only leave still to come moves children.
                if (absence is not null && absence.From > input.Now && !handedBack[i] && caseloads[i] > 0)
                {
                    queue.Add(new Cohort(noon.AddDays(1), caseloads[i]));
                    caseloads[i] = 0;
                }

                handedBack[i] |= !available[i];
            }

            // Closures free places in proportion to caseloads.
            var held = caseloads.Sum();
            var closed = Math.Min(held, closures[weekday]);
            for (var i = 0; i < caseloads.Length && held > 0; i++)
            {
                caseloads[i] -= closed * caseloads[i] / held;
            }

            // Today counts only from now: what has arrived already is in the queue.
            var remaining = d == 0 ? Math.Clamp((dayEnd - input.Now) / TimeSpan.FromDays(1), 0, 1) : 1;
            var arriving = arrivals(date, d) * remaining;
            queue.Add(new Cohort(noon + options.AllocationWindow, arriving));
            queue.Sort((a, b) => a.Deadline.CompareTo(b.Deadline));
            var waiting = queue.Sum(c => c.Count);
            var free = FreePlaces(input.Workers, caseloads, available);
            // Due today, and those already past their deadline: they are allocated first.
            var due = queue.Where(c => c.Deadline < dayEnd).Sum(c => c.Count);
            var allocating = Math.Min(Math.Max(allocationRate[weekday] * waiting, onTime * due), free);

            Place(input.Workers, caseloads, available, allocating);
            var left = allocating;
            foreach (var cohort in queue)
            {
                var taken = Math.Min(cohort.Count, left);
                cohort.Count -= taken;
                left -= taken;
            }

            var breaches = 0.0;
            foreach (var cohort in queue.Where(c => !c.Breached && c.Deadline < dayEnd && c.Count > 0))
            {
                breaches += cohort.Count;
                cohort.Breached = true;
            }

            queue.RemoveAll(c => c.Count <= 1e-9);
            var (holders, atOrUnder) = Share(input.Workers, caseloads);
            var percent = Percent(atOrUnder, holders);
            var waitingAtEnd = queue.Sum(c => c.Count);
            var freeAfter = FreePlaces(input.Workers, caseloads, available);
            var rag = DayRag(breaches, percent, waitingAtEnd, freeAfter, caseloadTarget);
            result.Add(new ForecastDay(date, Math.Round(waitingAtEnd, 2), Math.Round(breaches, 2), percent, Math.Round(freeAfter, 1), rag, holders, atOrUnder));
        }

        var redFrom = result.FirstOrDefault(r => r.Rag == Rag.Red)?.Date;
        var expected = (int)Math.Round(result.Sum(r => r.ExpectedBreaches), MidpointRounding.AwayFromZero);
        return new TeamForecast(input.TeamId, input.Name, input.Now, result, redFrom, expected, Headline(input.Name, today, result, redFrom, expected));
    }

    /// <summary>
    /// Arrivals by date: least squares on the seven weekday indicators plus a linear trend over the history; with less
    /// than four weeks the trend is left out, and with under a week each weekday gets the overall mean.
    /// </summary>
    public static Func<DateOnly, int, double> FitArrivals(IReadOnlyList<DayCounts> history)
    {
        if (history.Count == 0)
        {
            return (_, _) => 0;
        }

        var mean = history.Average(h => h.Arrivals);
        if (history.Count < 7)
        {
            return (_, _) => mean;
        }

        var withTrend = history.Count >= 28;
        var origin = history[^1].Date;
        double[] Row(DateOnly date)
        {
            var row = new double[withTrend ? 8 : 7];
            row[(int)date.DayOfWeek] = 1;
            if (withTrend)
            {
                // Weeks from the last day of history: the forecast extends the line forward.
                row[7] = (date.DayNumber - origin.DayNumber) / 7.0;
            }

            return row;
        }

        try
        {
            var beta = MultipleRegression.QR(history.Select(h => Row(h.Date)).ToArray(), history.Select(h => (double)h.Arrivals).ToArray());
            if (withTrend)
            {
                // A trend is trusted only so far: a week of forecast moves at most a third of the mean day.
                beta[7] = Math.Clamp(beta[7], -mean / 3, mean / 3);
            }

            return (date, _) => Math.Max(0, Row(date).Zip(beta, (x, b) => x * b).Sum());
        }
        catch (ArgumentException)
        {
            return (_, _) => mean;
        }
    }

    /// <summary>Per weekday: the share of the children there to allocate (waiting at the start plus arriving) that
    /// were allocated, and the mean number of cases closed.</summary>
    public static (double[] AllocationRate, double[] Closures) FitRates(IReadOnlyList<DayCounts> history)
    {
        var allocated = new double[7];
        var there = new double[7];
        var closed = new double[7];
        var count = new int[7];
        for (var i = 1; i < history.Count; i++)
        {
            var day = history[i];
            var w = (int)day.Date.DayOfWeek;
            allocated[w] += day.Allocations;
            there[w] += history[i - 1].WaitingAtEnd + day.Arrivals;
            closed[w] += day.Closures;
            count[w]++;
        }

        var overall = there.Sum() > 0 ? allocated.Sum() / there.Sum() : 1.0;
        var rate = Enumerable.Range(0, 7).Select(w => there[w] > 0 ? Math.Clamp(allocated[w] / there[w], 0, 1) : overall).ToArray();
        var closures = Enumerable.Range(0, 7).Select(w => count[w] > 0 ? closed[w] / count[w] : 0).ToArray();
        return (rate, closures);
    }

    /// <summary>The share of the children who arrived in the history that did not pass their deadline without a worker
    /// (1 without history): a team that has met its deadlines is taken to go on meeting them while it has places.</summary>
    public static double OnTimeShare(IReadOnlyList<DayCounts> history)
    {
        var arrivals = history.Sum(d => d.Arrivals);
        return arrivals == 0 ? 1.0 : Math.Clamp(1 - history.Sum(d => d.Breaches) / (double)arrivals, 0, 1);
    }

    private static double FreePlaces(IReadOnlyList<ForecastWorker> workers, double[] caseloads, bool[] available)
    {
        var free = 0.0;
        for (var i = 0; i < workers.Count; i++)
        {
            free += available[i] ? Math.Max(0, workers[i].Ceiling - caseloads[i]) : 0;
        }

        return free;
    }

    /// <summary>Places children with the workers who have most room, never above a ceiling.</summary>
    private static void Place(IReadOnlyList<ForecastWorker> workers, double[] caseloads, bool[] available, double children)
    {
        while (children > 1e-9)
        {
            var best = -1;
            var room = 0.0;
            for (var i = 0; i < workers.Count; i++)
            {
                var r = available[i] ? workers[i].Ceiling - caseloads[i] : 0;
                if (r > room + 1e-9)
                {
                    (best, room) = (i, r);
                }
            }

            if (best < 0)
            {
                return;
            }

            var step = Math.Min(children, Math.Min(1.0, room));
            caseloads[best] += step;
            children -= step;
        }
    }

    private static (int Holders, int AtOrUnder) Share(IReadOnlyList<ForecastWorker> workers, double[] caseloads)
    {
        var holders = 0;
        var atOrUnder = 0;
        for (var i = 0; i < workers.Count; i++)
        {
            if (workers[i].Ceiling > 0 || caseloads[i] > 1e-9)
            {
                holders++;
                atOrUnder += caseloads[i] <= workers[i].Ceiling + 1e-9 ? 1 : 0;
            }
        }

        return (holders, atOrUnder);
    }

    private static decimal Percent(int part, int whole) => whole == 0 ? 100m : Math.Round(100m * part / whole, 1);

    /// <summary>Red when a breach is expected (any breach misses the plan's target) or the caseload share is red; amber
    /// when the share is amber or more children wait than there are places; else green.</summary>
    private static Rag DayRag(double breaches, decimal percent, double waiting, double freePlaces, KpiTarget? caseloadTarget)
    {
        var share = AllocationRules.CaseloadShareRag(percent, caseloadTarget);
        return breaches >= 0.5 || share == Rag.Red ? Rag.Red
            : share == Rag.Amber || (waiting >= 0.5 && waiting > freePlaces) ? Rag.Amber
            : Rag.Green;
    }

    /// <summary>The authority's forecast: each day the sum of its teams' (the share from the summed counts).</summary>
    public static TeamForecast Combine(string id, string name, DateTimeOffset at, IReadOnlyList<TeamForecast> teams, KpiTarget? caseloadTarget = null)
    {
        var days = teams.Count == 0 ? [] : Enumerable.Range(0, teams.Min(t => t.Days.Count)).Select(d =>
        {
            var each = teams.Select(t => t.Days[d]).ToList();
            var (holders, atOrUnder) = (each.Sum(x => x.Caseholders), each.Sum(x => x.AtOrUnderCeiling));
            var (waiting, breaches, free) = (each.Sum(x => x.Waiting), each.Sum(x => x.ExpectedBreaches), each.Sum(x => x.FreePlaces));
            var percent = Percent(atOrUnder, holders);
            return new ForecastDay(each[0].Date, Math.Round(waiting, 2), Math.Round(breaches, 2), percent, Math.Round(free, 1),
                DayRag(breaches, percent, waiting, free, caseloadTarget), holders, atOrUnder);
        }).ToList();
        var redFrom = days.FirstOrDefault(r => r.Rag == Rag.Red)?.Date;
        var expected = (int)Math.Round(days.Sum(r => r.ExpectedBreaches), MidpointRounding.AwayFromZero);
        return new TeamForecast(id, name, at, days, redFrom, expected, Headline(name, UkCalendar.DateOf(at), days, redFrom, expected));
    }

    private static string Headline(string name, DateOnly today, IReadOnlyList<ForecastDay> days, DateOnly? redFrom, int breaches)
    {
        string When(DateOnly date) => date == today ? "today" : date == today.AddDays(1) ? "tomorrow" : date.DayOfWeek.ToString();
        var expected = breaches == 0 ? "no breaches expected" : breaches == 1 ? "1 breach expected" : $"{breaches} breaches expected";
        if (redFrom is { } red)
        {
            return $"{name}: red from {When(red)}, {expected}";
        }

        return days.FirstOrDefault(d => d.Rag == Rag.Amber) is { } amber
            ? $"{name}: amber from {When(amber.Date)}, {expected}"
            : $"{name}: green all week, {expected}";
    }

    /// <summary>Midnight starting the UK date.</summary>
    private static DateTimeOffset StartOf(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, UkCalendar.London.GetUtcOffset(local));
    }

    private sealed class Cohort(DateTimeOffset deadline, double count)
    {
        public DateTimeOffset Deadline { get; } = deadline;

        public double Count { get; set; } = count;

        public bool Breached { get; set; }
    }
}
