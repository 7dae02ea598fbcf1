using Allocation.Grains.Teams;

namespace Allocation.Grains.Kpis;

/// <summary>What the team grain holds, as the checks read it, with the team's cases closed in the last two years.</summary>
public sealed record TeamSnapshot(
    decimal? EstablishmentFte,
    IReadOnlyCollection<TeamWorkerSummary> Workers,
    IReadOnlyCollection<TeamChildSummary> Children,
    IReadOnlyList<EscalatedBreach> Breaches,
    IReadOnlyCollection<ClosedCase>? Closed = null);

/// <summary>A child or worker behind a figure, with why (e.g. "visit due 2026-11-20, not done", "no record").</summary>
[GenerateSerializer, Immutable]
public sealed record BehindItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Note);

/// <summary>
/// One KPI's counts for a team: numerator and denominator (FTE for the staffing KPIs), the children or workers that
/// count against the target, and for a cohort KPI the previous cohort's counts.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Tally(
    [property: Id(0)] decimal Numerator,
    [property: Id(1)] decimal Denominator,
    [property: Id(2)] IReadOnlyList<BehindItem> Behind,
    [property: Id(3)] int NoRecord = 0,
    [property: Id(4)] decimal PriorNumerator = 0,
    [property: Id(5)] decimal PriorDenominator = 0)
{
    public static readonly Tally Empty = new(0, 0, []);
}

/// <summary>
/// A team's counts behind the KPIs on one night, by KPI id. Counts rather than percentages, so the authority's figures
/// are the sums of its teams' and never an average of averages.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TeamMeasures([property: Id(0)] IReadOnlyDictionary<string, Tally> Tallies)
{
    public static readonly TeamMeasures Empty = new(new Dictionary<string, Tally>());

    public Tally this[string kpiId] => Tallies.GetValueOrDefault(kpiId) ?? Tally.Empty;

    /// <summary>The authority's counts: sums of the teams' (the largest, for a maximum); the lists stay with the teams.</summary>
    public static TeamMeasures Combine(IEnumerable<TeamMeasures> teams)
    {
        var sums = new Dictionary<string, Tally>(StringComparer.Ordinal);
        foreach (var team in teams)
        {
            foreach (var (id, t) in team.Tallies)
            {
                var max = KpiCatalog.Find(id)?.Figure == FigureKind.Max;
                sums[id] = sums.TryGetValue(id, out var a)
                    ? new Tally(max ? Math.Max(a.Numerator, t.Numerator) : a.Numerator + t.Numerator, a.Denominator + t.Denominator, [],
                        a.NoRecord + t.NoRecord, a.PriorNumerator + t.PriorNumerator, a.PriorDenominator + t.PriorDenominator)
                    : t with { Behind = [] };
            }
        }

        return new TeamMeasures(sums);
    }
}
