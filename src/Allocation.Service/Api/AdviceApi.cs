using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Kpis;
using Allocation.Grains.Children;
using Allocation.Service.Jobs;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Api;

/// <summary>
/// Advice before a decision: the team's workers ranked for a waiting child with their reasons, and what an allocation
/// would do. Both are reads: nothing changes and nothing is audited as a command.
/// </summary>
public static class AdviceApi
{
    public static IEndpointRouteBuilder MapAdviceApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/children").WithTags("Children");

        api.MapGet("/{childId}/recommendations", async Task<Results<Ok<Recommendations>, ProblemHttpResult>> (
            string childId, IGrainFactory grains, HttpContext http, IOptions<AllocationOptions> rules, IOptions<AdviceOptions> weights,
            [FromKeyedServices(AllocationClock.Key)] TimeProvider time) =>
        {
            if (await Known.FindChild(grains, childId) is not { } child)
            {
                return Problems.NotFound("child", childId);
            }

            if (Access.ChangeTeam(http, child.TeamId) is { } forbidden)
            {
                return forbidden;
            }

            if (child.Status != ChildStatus.Unallocated)
            {
                return Problems.From(AllocationRules.CheckAllocatable(child.Id, true, child.Status, child.WorkerId, "")!);
            }

            return TypedResults.Ok(await AdviceReads.Recommend(grains, child, time.GetUtcNow(), rules.Value, weights.Value));
        }).RequireAuthorization(Policies.TeamManagement)
          .WithSummary("The team's workers ranked for a waiting child, each with the reasons and figures behind the rank (room, continuity, brothers and sisters, leave, team balance). Workers who cannot take the child come last, with the reason. Practice managers of the child's team and leaders.");

        api.MapPost("/{childId}/allocate/preview", async Task<Results<Ok<AllocationPreviewResult>, ProblemHttpResult>> (
            string childId, AllocateChild body, IGrainFactory grains, HttpContext http, IOptions<AllocationOptions> rules,
            IOptions<NightlyChecksOptions> nightly, [FromKeyedServices(AllocationClock.Key)] TimeProvider time) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("workerId", body.WorkerId, true)) is { } invalid)
            {
                return invalid;
            }

            // The same gates, in the same order, as the allocation itself.
            if (await Known.FindChild(grains, childId) is not { } child)
            {
                return Problems.NotFound("child", childId);
            }

            var by = http.User.Allocation().Id;
            var ceilingOverride = body.Override is { } o ? o with { By = by } : null;
            if ((Access.ChangeTeam(http, child.TeamId) ?? Access.Override(http, ceilingOverride)) is { } forbidden)
            {
                return forbidden;
            }

            if (!await Known.Worker(grains, body.WorkerId))
            {
                return Problems.NotFound("worker", body.WorkerId);
            }

            var outcome = await AdviceReads.Preview(grains, childId, body.WorkerId, ceilingOverride, time.GetUtcNow(), rules.Value, nightly.Value.CaseloadTarget);
            return outcome.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.Ok(outcome.Preview!);
        }).RequireAuthorization(Policies.TeamManagement)
          .WithSummary("What allocating the child to the worker would do, without doing it (same body as allocate): the child as it would be, the worker's caseload and ceiling after, the team's share at or under ceiling and its RAG after, the child's distinct workers after and whether it crosses the flag, whether an override is needed. A refusal is the problem the allocation would answer. Nothing changes; not audited.");

        var forecasts = app.MapGroup("/api").WithTags("Forecast");

        forecasts.MapGet("/forecast", async (PressureForecasts forecast, [FromKeyedServices(AllocationClock.Key)] TimeProvider time, CancellationToken ct) =>
            TypedResults.Ok(await forecast.ComputeAsync(time.GetUtcNow(), ct)))
            .RequireAuthorization(Policies.Leaders)
            .WithSummary("The 7-day pressure forecast of the authority and each team: for each day the children expected to be waiting, the 24-hour breaches expected, the share of caseloads at or under ceiling and the RAG, with a headline (\"red from Thursday, 3 breaches expected\"). From the last weeks' referrals by weekday, each team's allocation rate, recorded leave and places. Leaders.");

        forecasts.MapGet("/teams/{teamId}/forecast", async Task<Results<Ok<TeamForecast>, ProblemHttpResult>> (
            string teamId, IGrainFactory grains, IClosedCases closedCases, HttpContext http, IOptions<AllocationOptions> rules,
            IOptions<AdviceOptions> advice, IOptions<NightlyChecksOptions> nightly, [FromKeyedServices(AllocationClock.Key)] TimeProvider time) =>
        {
            if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
            {
                return Problems.NotFound("team", teamId);
            }

            if (Access.ReadTeam(http, teamId) is { } forbidden)
            {
                return forbidden;
            }

            return TypedResults.Ok(await ForecastReads.ForecastTeam(grains, closedCases, teamId, time.GetUtcNow(), rules.Value, advice.Value, nightly.Value.CaseloadTarget));
        }).RequireAuthorization(Policies.TeamManagement)
          .WithSummary("The team's 7-day pressure forecast (as in /api/forecast). Practice managers of the team and leaders.");

        return app;
    }
}
