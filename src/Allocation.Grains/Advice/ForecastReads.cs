using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Advice;

/// <summary>
/// Builds a team's forecast input from what its grains already hold (no child or worker is activated): the team's
/// summaries of its open children and workers, and the cases it closed (<see cref="IClosedCases"/>), for the
/// last weeks' arrivals, allocations and closures, the queue's deadlines, each worker's places and leave.
/// </summary>
public static class ForecastReads
{
    public static async Task<TeamForecast> ForecastTeam(
        IGrainFactory grains, IClosedCases closedCases, string teamId, DateTimeOffset now, AllocationOptions rules, AdviceOptions advice,
        KpiTarget? caseloadTarget = null)
    {
        var roster = await grains.GetGrain<ITeamGrain>(teamId).GetRoster();
        var closed = await closedCases.ReadClosed(teamId, now.AddDays(-advice.ForecastHistoryDays - 1));
        return PressureForecaster.Forecast(Input(roster, closed, now, advice.ForecastHistoryDays), advice.ForecastDays, rules, caseloadTarget);
    }

    /// <summary>
    /// A child counts as arriving the day its clock started, as allocated the day a worker took it after that, and
    /// a closed case as closing the day it closed. Closed cases are counted too, so a team that allocates and closes
    /// quickly is not seen as slow. A team with no closure recorded in the window (one loaded from another system, whose
    /// past closures the service never saw) is taken to close cases as fast as it allocates them, so caseloads hold
    /// steady over the week; recorded leave and the queue are exact.
    /// </summary>
    public static ForecastInput Input(TeamRoster roster, IReadOnlyCollection<ClosedCase> closed, DateTimeOffset now, int historyDays)
    {
        var today = UkCalendar.DateOf(now);
        var first = today.AddDays(-historyDays);
        var arrivals = new int[historyDays];
        var allocations = new int[historyDays];
        var closures = new int[historyDays];
        var waitingAtEnd = new int[historyDays];
        var breaches = new int[historyDays];
        var spells = roster.Children.Select(c => (Child: c, ClosedAt: (DateTimeOffset?)null))
            .Concat(closed.Select(c => (Child: c.Summary, ClosedAt: (DateTimeOffset?)c.ClosedAt)));
        foreach (var (c, closedAt) in spells)
        {
            var closedOn = closedAt is { } closing ? UkCalendar.DateOf(closing) : (DateOnly?)null;
            var started = UkCalendar.DateOf(c.ClockStartedAt);
            // The first worker since the clock started: an allocation before it (an imported history) is no queue spell.
            var allocatedAt = c.RecentPeriods.Where(p => p.From >= c.ClockStartedAt).Select(p => (DateTimeOffset?)p.From).Min();
            if (closedOn is null && c.WorkerId is not null && allocatedAt is null)
            {
                continue;
            }

            var allocated = allocatedAt is { } at ? UkCalendar.DateOf(at) : (DateOnly?)null;
            // Past its deadline with no worker yet (or a worker only after it), and not closed before it.
            var breachedOn = c.Deadline < now && (allocatedAt is null || allocatedAt > c.Deadline)
                && (closedAt is null || closedAt > c.Deadline) ? UkCalendar.DateOf(c.Deadline) : (DateOnly?)null;
            for (var d = 0; d < historyDays; d++)
            {
                var date = first.AddDays(d);
                arrivals[d] += started == date ? 1 : 0;
                allocations[d] += allocated == date ? 1 : 0;
                closures[d] += closedOn == date ? 1 : 0;
                breaches[d] += breachedOn == date ? 1 : 0;
                waitingAtEnd[d] += started <= date && (allocated is null || allocated > date) && (closedOn is null || closedOn > date) ? 1 : 0;
            }
        }

        var closuresKnown = closures.Sum() > 0;
        var history = Enumerable.Range(0, historyDays)
            .Select(d => new DayCounts(first.AddDays(d), arrivals[d], allocations[d], closuresKnown ? closures[d] : allocations[d], waitingAtEnd[d], breaches[d]))
            .ToList();
        var counts = roster.Children.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!).ToDictionary(g => g.Key, g => g.Count());
        var workers = roster.Workers.Where(w => !w.HasLeft)
            .Select(w => new ForecastWorker(w.Ceiling, counts.GetValueOrDefault(w.WorkerId), w.Absences)).ToList();
        var deadlines = roster.Children.Where(c => c.WorkerId is null).Select(c => c.Deadline).ToList();
        return new ForecastInput(roster.TeamId, roster.Name, now, history, deadlines, workers);
    }
}
