using Allocation.Grains.Authority;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;
using Allocation.Service.Reports;

namespace Allocation.Service.Seeding;

/// <summary>
/// The demo's past: 90 nights of reports before its first real one, so the report's trend lines show a trend on the
/// first run. They are made up, like the demo authority itself: each team's counts tonight, walked back with a slow
/// drift, a weekly swing and noise, and rated exactly as the nightly job rates real ones. Demo only.
/// </summary>
public static class DemoReportHistory
{
    public const int Nights = 90;

    public static async Task SeedAsync(
        IGrainFactory grains, IReportStore reports, IReadOnlyDictionary<string, KpiTarget> targets, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var teams = await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams();
        var tonight = new List<(string Id, string Name, TeamMeasures Measures)>();
        foreach (var team in teams)
        {
            tonight.Add((team.Id, team.Name, await grains.GetGrain<ITeamGrain>(team.Id).GetMeasures(now)));
        }

        var today = UkCalendar.DateOf(now);
        var past = tonight.Select(t => (t.Id, t.Name, Nights: WalkBack(t.Id, t.Measures))).ToList();
        ThresholdReport? previous = null;
        for (var k = Nights; k >= 1; k--)
        {
            var date = today.AddDays(-k);
            var runAt = new DateTimeOffset(date.ToDateTime(new TimeOnly(2, 0)), UkCalendar.London.GetUtcOffset(date.ToDateTime(new TimeOnly(2, 0))));
            previous = ThresholdChecks.BuildReport(date, runAt, past.Select(t => (t.Id, t.Name, t.Nights[k - 1])).ToList(), targets, previous);
            await reports.SaveAsync(previous, cancellationToken);
        }
    }

    /// <summary>The team's counts 1 to <see cref="Nights"/> nights ago (index k - 1), from tonight's.</summary>
    public static IReadOnlyList<TeamMeasures> WalkBack(string teamId, TeamMeasures tonight)
    {
        // A seed of the team id's characters: the same demo shows the same past.
        var random = new Random(teamId.Aggregate(17, (h, c) => unchecked(h * 31 + c)));
        var improving = random.NextDouble() < 0.6; // most teams were worse three months ago; some were better
        var phase = random.NextDouble() * 7;
        var breachesByNight = Enumerable.Range(0, Nights + 7).Select(_ => random.NextDouble() < 0.2 ? random.Next(1, 3) : 0).ToArray();
        var nights = new List<TeamMeasures>(Nights);
        var share = tonight.Caseholders == 0 ? 1.0 : tonight.CaseholdersAtOrUnderCeiling / (double)tonight.Caseholders;
        for (var k = 1; k <= Nights; k++)
        {
            var drift = k / (double)Nights * (improving ? -0.12 : 0.08);
            var weekly = Math.Sin(2 * Math.PI * (k + phase) / 7);
            var atOrUnder = (int)Math.Round(tonight.Caseholders * Math.Clamp(share + drift + 0.03 * weekly + (random.NextDouble() - 0.5) * 0.06, 0, 1));
            var waiting = Math.Max(0, (int)Math.Round(tonight.Unallocated * (1 + (improving ? 0.4 : -0.2) * k / Nights) + 2 * weekly + random.Next(-1, 2)));
            nights.Add(tonight with
            {
                CaseholdersAtOrUnderCeiling = atOrUnder,
                Unallocated = waiting,
                LongestWaitHours = waiting == 0 ? 0 : Math.Round(Math.Max(1, tonight.LongestWaitHours * (0.5 + random.NextDouble())), 1),
                BreachesLastDay = breachesByNight[k],
                BreachesLastWeek = breachesByNight.Skip(k).Take(7).Sum(),
                ChildrenOverWorkerThreshold = Math.Max(0, tonight.ChildrenOverWorkerThreshold + (int)Math.Round((improving ? 3 : -1) * k / (double)Nights) + random.Next(-1, 2)),
                NewlyOverWorkerThreshold = random.NextDouble() < 0.1 ? 1 : 0,
            });
        }

        return nights;
    }
}
