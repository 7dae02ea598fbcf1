using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Children;
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
            [FromKeyedServices(AllocationClock.Key)] TimeProvider time) =>
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

            var outcome = await AdviceReads.Preview(grains, childId, body.WorkerId, ceilingOverride, time.GetUtcNow(), rules.Value);
            return outcome.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.Ok(outcome.Preview!);
        }).RequireAuthorization(Policies.TeamManagement)
          .WithSummary("What allocating the child to the worker would do, without doing it (same body as allocate): the child as it would be, the worker's caseload and ceiling after, the team's share at or under ceiling and its RAG after, the child's distinct workers after and whether it crosses the flag, whether an override is needed. A refusal is the problem the allocation would answer. Nothing changes; not audited.");

        return app;
    }
}
