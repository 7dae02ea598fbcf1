using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Authority;
using Allocation.Grains.Kpis;
using Allocation.Service.Reports;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Jobs;

/// <summary>The 7-day pressure forecast of every team and of the authority.</summary>
public sealed record ForecastOverview(DateTimeOffset At, TeamForecast Authority, IReadOnlyList<TeamForecast> Teams);

/// <summary>
/// Forecasts every team from its grain's summaries (see <see cref="ForecastReads"/>) and sums them for the authority.
/// The API asks for it live; the nightly job stores each night's, so forecasts can be scored against what happened.
/// </summary>
public sealed class PressureForecasts(
    IGrainFactory grains,
    IClosedCases closedCases,
    IForecastStore store,
    IOptions<AllocationOptions> rules,
    IOptions<AdviceOptions> advice,
    IOptions<NightlyChecksOptions> nightly)
{
    public async Task<ForecastOverview> ComputeAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var teams = await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams();
        var forecasts = new TeamForecast[teams.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, teams.Count),
            new ParallelOptions { MaxDegreeOfParallelism = nightly.Value.MaxParallelTeams, CancellationToken = cancellationToken },
            async (i, _) => forecasts[i] = await ForecastReads.ForecastTeam(grains, closedCases, teams[i].Id, at, rules.Value, advice.Value, nightly.Value.CaseloadTarget));
        var ordered = forecasts.OrderBy(f => f.TeamId, StringComparer.Ordinal).ToList();
        return new ForecastOverview(at, PressureForecaster.Combine(ForecastApiIds.Authority, "The authority", at, ordered, nightly.Value.CaseloadTarget), ordered);
    }

    /// <summary>Computes and stores the night's forecasts (replacing any for the same UK date).</summary>
    public async Task<ForecastOverview> StoreAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var overview = await ComputeAsync(at, cancellationToken);
        await store.SaveAsync(UkCalendar.DateOf(at), [overview.Authority, .. overview.Teams], cancellationToken);
        return overview;
    }
}
