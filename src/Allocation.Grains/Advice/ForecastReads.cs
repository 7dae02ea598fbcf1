using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Advice;

/// <summary>
/// Builds a team's forecast input from its grain's summaries alone (no child or worker is activated): the last weeks'
/// arrivals and allocations from its open children's clocks, the queue's deadlines, each worker's places and leave.
/// </summary>
public static class ForecastReads
{
    public static async Task<TeamForecast> ForecastTeam(IGrainFactory grains, string teamId, DateTimeOffset now, AllocationOptions rules, AdviceOptions advice)
    {
        var roster = await grains.GetGrain<ITeamGrain>(teamId).GetRoster();
        return PressureForecaster.Forecast(Input(roster, now, advice.ForecastHistoryDays), advice.ForecastDays, rules);
    }

    /// <summary>
    /// The team keeps its open children only, so the history is what they show: a child counts as arriving the day its
    /// current clock started and as allocated the day its current worker took it. Closed cases are gone from the team,
    /// so closures are taken to keep pace with allocations (caseloads hold steady over the week); recorded leave and
    /// the queue are exact.
    /// </summary>
    public static ForecastInput Input(TeamRoster roster, DateTimeOffset now, int historyDays)
    {
        var today = UkCalendar.DateOf(now);
        var first = today.AddDays(-historyDays);
        var arrivals = new int[historyDays];
        var allocations = new int[historyDays];
        var waitingAtEnd = new int[historyDays];
        foreach (var c in roster.Children)
        {
            var started = UkCalendar.DateOf(c.ClockStartedAt);
            var allocated = c.AllocatedAt is { } at && at >= c.ClockStartedAt ? UkCalendar.DateOf(at) : (DateOnly?)null;
            if (c.AllocatedAt is not null && allocated is null)
            {
                continue; // allocated before its current clock (an imported history): not a queue spell
            }

            for (var d = 0; d < historyDays; d++)
            {
                var date = first.AddDays(d);
                arrivals[d] += started == date ? 1 : 0;
                allocations[d] += allocated == date ? 1 : 0;
                waitingAtEnd[d] += started <= date && (allocated is null || allocated > date) ? 1 : 0;
            }
        }

        var history = Enumerable.Range(0, historyDays)
            .Select(d => new DayCounts(first.AddDays(d), arrivals[d], allocations[d], allocations[d], waitingAtEnd[d]))
            .ToList();
        var counts = roster.Children.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!).ToDictionary(g => g.Key, g => g.Count());
        var workers = roster.Workers.Where(w => !w.HasLeft)
            .Select(w => new ForecastWorker(w.Ceiling, counts.GetValueOrDefault(w.WorkerId), w.Absences)).ToList();
        var deadlines = roster.Children.Where(c => c.WorkerId is null).Select(c => c.Deadline).ToList();
        return new ForecastInput(roster.TeamId, roster.Name, now, history, deadlines, workers);
    }
}
