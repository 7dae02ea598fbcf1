using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

public static class ChildrenApi
{
    /// <summary>The child after a command, with the receipt; <c>Replayed</c> is true when a retry was answered
    /// from the first result instead of being applied again.</summary>
    public sealed record ChildResponse(ChildView Child, CommandReceipt Receipt, bool Replayed);

    public static IEndpointRouteBuilder MapChildrenApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/children").WithTags("Children");

        api.MapGet("/{childId}", async Task<Results<Ok<ChildView>, ProblemHttpResult>> (string childId, IGrainFactory grains) =>
        {
            if (!Problems.IsValidId(childId) || !await Known.Child(grains, childId)
                || await grains.GetGrain<IChildGrain>(childId).Get() is not { } child)
            {
                return Problems.NotFound("child", childId);
            }

            return TypedResults.Ok(child);
        }).WithSummary("A child: team, worker, 24-hour clock, worker history (who, when, why) and worker-change counts.");

        api.MapPost("/{childId}/refer", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, ReferChild body, IGrainFactory grains) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("teamId", body.TeamId, true)) is { } invalid)
            {
                return invalid;
            }

            if (!await Known.Team(grains, body.TeamId))
            {
                return Problems.NotFound("team", body.TeamId);
            }

            await IdDirectory.Add(grains, IdKind.Child, childId);
            return Answer(await grains.GetGrain<IChildGrain>(childId).Refer(body));
        }).WithSummary("Refers a child to a team (or re-refers a closed child): the 24-hour clock starts.");

        api.MapPost("/{childId}/allocate", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, AllocateChild body, IGrainFactory grains) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("workerId", body.WorkerId, true)) is { } invalid)
            {
                return invalid;
            }

            return await Run(grains, childId, body.WorkerId, c => c.Allocate(body));
        }).WithSummary("Allocates an unallocated child to a worker of its team, within the worker's ceiling (or above it with an override).");

        api.MapPost("/{childId}/reallocate", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, ReallocateChild body, IGrainFactory grains) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("workerId", body.WorkerId, true), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(grains, childId, body.WorkerId, c => c.Reallocate(body));
        }).WithSummary("Moves an allocated child to another worker of its team; counts as a worker change.");

        api.MapPost("/{childId}/transfer", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, TransferChild body, IGrainFactory grains) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("toTeamId", body.ToTeamId, true), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            if (!await Known.Team(grains, body.ToTeamId))
            {
                return Problems.NotFound("team", body.ToTeamId);
            }

            return await Run(grains, childId, null, c => c.Transfer(body));
        }).WithSummary("Transfers a child to another team: a transfer point; it waits there unallocated with a new 24-hour clock.");

        api.MapPost("/{childId}/close", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, CloseChild body, IGrainFactory grains) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(grains, childId, null, c => c.Close(body));
        }).WithSummary("Closes the child's case, freeing the worker's place. The history is kept.");

        return app;
    }

    private static async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> Run(
        IGrainFactory grains, string childId, string? workerId, Func<IChildGrain, Task<ChildResult>> command)
    {
        if (!await Known.Child(grains, childId))
        {
            return Problems.NotFound("child", childId);
        }

        if (workerId is not null && !await Known.Worker(grains, workerId))
        {
            return Problems.NotFound("worker", workerId);
        }

        return Answer(await command(grains.GetGrain<IChildGrain>(childId)));
    }

    private static Results<Ok<ChildResponse>, ProblemHttpResult> Answer(ChildResult result) =>
        result.Refusal is { } refusal
            ? Problems.From(refusal)
            : TypedResults.Ok(new ChildResponse(result.Child!, result.Receipt!, result.Replayed));
}
