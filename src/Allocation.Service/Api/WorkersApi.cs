using Allocation.Grains.Directory;
using Allocation.Grains.SocialWorkers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

public static class WorkersApi
{
    public static IEndpointRouteBuilder MapWorkersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/workers").WithTags("Workers");

        api.MapPut("/{workerId}", async Task<Results<Ok<WorkerView>, ProblemHttpResult>> (string workerId, UpsertWorker body, IGrainFactory grains) =>
        {
            if (Problems.Check(("workerId", workerId, true), ("name", body.Name, false), ("teamId", body.TeamId, true)) is { } invalid)
            {
                return invalid;
            }

            if (!await Known.Team(grains, body.TeamId))
            {
                return Problems.NotFound("team", body.TeamId);
            }

            // Known before it is created: a crash between the two leaves an id that reads as 404 until retried.
            await IdDirectory.Add(grains, IdKind.Worker, workerId);
            var result = await grains.GetGrain<ISocialWorkerGrain>(workerId).Upsert(body);
            return result.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.Ok(result.Worker!);
        }).WithSummary("Creates or updates a worker: team, role, FTE and an optional explicit ceiling.");

        api.MapGet("/{workerId}", async Task<Results<Ok<WorkerView>, ProblemHttpResult>> (string workerId, IGrainFactory grains) =>
        {
            if (!Problems.IsValidId(workerId) || !await Known.Worker(grains, workerId)
                || await grains.GetGrain<ISocialWorkerGrain>(workerId).Get() is not { } worker)
            {
                return Problems.NotFound("worker", workerId);
            }

            return TypedResults.Ok(worker);
        }).WithSummary("A worker's caseload, ceiling and absences.");

        api.MapPost("/{workerId}/absences", async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> (string workerId, StartAbsence body, IGrainFactory grains) =>
        {
            if (Problems.Check(("workerId", workerId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(grains, workerId, body.MoveToWorkerId, () => Staffing.StartAbsence(grains, workerId, body));
        }).WithSummary("Records leave; from its start the worker takes no new children and their children go back to the queue or to the named worker.");

        api.MapPost("/{workerId}/leave", async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> (string workerId, LeaveService body, IGrainFactory grains) =>
        {
            if (Problems.Check(("workerId", workerId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(grains, workerId, body.MoveToWorkerId, () => Staffing.Leave(grains, workerId, body));
        }).WithSummary("The worker leaves the service; their children go back to the queue or to the named worker.");

        return app;
    }

    private static async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> Run(
        IGrainFactory grains, string workerId, string? moveTo, Func<Task<WorkerResult>> command)
    {
        if (!await Known.Worker(grains, workerId))
        {
            return Problems.NotFound("worker", workerId);
        }

        if (moveTo is not null && (!Problems.IsValidId(moveTo) || !await Known.Worker(grains, moveTo)))
        {
            return Problems.NotFound("worker", moveTo);
        }

        var result = await command();
        return result.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.Ok(result);
    }
}
