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
            await reports.SaveAsync(previous, cancellationToken: cancellationToken);
        }
    }

    /// <summary>The team's counts 1 to <see cref="Nights"/> nights ago (index k - 1), from tonight's.</summary>
    public static IReadOnlyList<TeamMeasures> WalkBack(string teamId, TeamMeasures tonight)
    {
        // A seed of the team id's characters: the same demo shows the same past.
        var random = new Random(teamId.Aggregate(17, (h, c) => unchecked(h * 31 + c)));
        // Most teams were worse three months ago; some were better. Positive: the past was worse than tonight.
        var worseBefore = random.NextDouble() < 0.6 ? 1.0 : -0.6;
        var phase = random.NextDouble() * 7;
        var breachesByNight = Enumerable.Range(0, Nights + 7).Select(_ => random.NextDouble() < 0.2 ? random.Next(1, 3) : 0).ToArray();
        var waitingTonight = tonight[KpiCatalog.UnallocatedNow].Numerator;
        var nights = new List<TeamMeasures>(Nights);
        for (var k = 1; k <= Nights; k++)
        {
            var back = k / (double)Nights;
            var weekly = Math.Sin(2 * Math.PI * (k + phase) / 7);
            var waiting = Math.Max(0, Math.Round(waitingTonight * (decimal)(1 + 0.3 * worseBefore * back) + (decimal)(2 * weekly) + random.Next(-1, 2)));
            var tallies = new Dictionary<string, Tally>(StringComparer.Ordinal);
            foreach (var (id, t) in tonight.Tallies)
            {
                // Behind lists stay with real nights: a made-up night has counts only.
                tallies[id] = id switch
                {
                    KpiCatalog.UnallocatedNow => t with { Numerator = waiting, Behind = [] },
                    KpiCatalog.LongestWaitHours => t with
                    {
                        Numerator = waiting == 0 ? 0 : Math.Round(Math.Max(1m, t.Numerator * (decimal)(0.5 + random.NextDouble())), 1),
                        Behind = [],
                    },
                    KpiCatalog.BreachesLastDay => t with { Numerator = breachesByNight[k], Behind = [] },
                    KpiCatalog.BreachesLastWeek => t with { Numerator = breachesByNight.Skip(k).Take(7).Sum(), Behind = [] },
                    _ => Walked(KpiCatalog.Find(id), t, worseBefore * back, weekly, random),
                };
            }

            nights.Add(new TeamMeasures(tallies));
        }

        return nights;
    }

    /// <summary>A KPI's tally some nights back: <paramref name="worse"/> moves it away from its better direction.</summary>
    private static Tally Walked(KpiDefinition? kpi, Tally t, double worse, double weekly, Random random)
    {
        var noise = random.NextDouble() - 0.5;
        if (kpi is null || kpi.Figure == FigureKind.Decrease)
        {
            return t with { Behind = [] }; // a cohort's figure moves quarterly, not nightly
        }

        var better = kpi.Direction == KpiDirection.HigherIsBetter ? 1 : -1;
        switch (kpi.Figure)
        {
            case FigureKind.Percent when t.Denominator > 0:
                var share = Math.Clamp((double)(t.Numerator / t.Denominator) - better * 0.1 * worse + 0.03 * weekly + 0.06 * noise, 0, 1);
                return new Tally(Math.Round(t.Denominator * (decimal)share), t.Denominator, [], t.NoRecord, t.PriorNumerator, t.PriorDenominator);
            case FigureKind.Percent:
                return t with { Behind = [] };
            default:
                var scaled = (double)t.Numerator * (1 - better * 0.25 * worse + 0.03 * weekly + 0.06 * noise);
                return new Tally(Math.Max(0, Math.Round((decimal)scaled)), t.Denominator, [], t.NoRecord);
        }
    }
}
