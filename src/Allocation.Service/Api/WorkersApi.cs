using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Audit;
using Allocation.Service.Security;
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

            var result = await grains.GetGrain<ISocialWorkerGrain>(workerId).Upsert(body);
            return result.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.Ok(result.Worker!);
        }).RequireAuthorization(Policies.Administrators).Audited("worker.upsert")
          .WithSummary("Creates or updates a worker: team, role, FTE and an optional explicit ceiling. Administrators.");

        api.MapGet("/{workerId}", async Task<Results<Ok<WorkerView>, ProblemHttpResult>> (string workerId, IGrainFactory grains, HttpContext http) =>
        {
            if (await Known.FindWorker(grains, workerId) is not { } worker)
            {
                return Problems.NotFound("worker", workerId);
            }

            return Access.ReadWorker(http, worker) is { } forbidden ? forbidden : TypedResults.Ok(worker);
        }).RequireAuthorization(Policies.WorkerRecords)
          .WithSummary("A worker's caseload, ceiling and absences: the worker, their team's managers, leaders and administrators.");

        api.MapPost("/{workerId}/absences", async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> (string workerId, StartAbsence body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("workerId", workerId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(http, grains, workerId, body.MoveToWorkerId, body.RequestId, body.Reason,
                (by, team) => Staffing.StartAbsence(grains, workerId, body with { By = by, ExpectedTeamId = team }));
        }).RequireAuthorization(Policies.StaffManagement).Audited("worker.absence").WithSummary("Records leave; from its start the worker takes no new children and their children go back to the queue or to the named worker.");

        api.MapPost("/{workerId}/leave", async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> (string workerId, LeaveService body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("workerId", workerId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(http, grains, workerId, body.MoveToWorkerId, body.RequestId, body.Reason,
                (by, team) => Staffing.Leave(grains, workerId, body with { By = by, ExpectedTeamId = team }));
        }).RequireAuthorization(Policies.StaffManagement).Audited("worker.leave").WithSummary("The worker leaves the service; their children go back to the queue or to the named worker.");

        return app;
    }

    private static async Task<Results<Ok<WorkerResult>, ProblemHttpResult>> Run(
        HttpContext http, IGrainFactory grains, string workerId, string? moveTo, string requestId, string reason, Func<string, string, Task<WorkerResult>> command)
    {
        if (await Known.FindWorker(grains, workerId) is not { } worker)
        {
            return Problems.NotFound("worker", workerId);
        }

        http.AuditNote().TeamId = worker.TeamId;
        if (Access.ManageWorker(http, worker) is { } forbidden)
        {
            return forbidden;
        }

        if (moveTo is not null && (!Problems.IsValidId(moveTo) || !await Known.Worker(grains, moveTo)))
        {
            return Problems.NotFound("worker", moveTo);
        }

        var user = http.User.Allocation();
        // The worker's team as checked: the grain refuses if the worker has moved team since.
        var result = await command(user.Id, worker.TeamId);
        if (result.Refusal is { } refusal)
        {
            return Problems.From(refusal);
        }

        // Each child moved off the caseload is in its own allocation history too, after the command's own entry.
        foreach (var moved in result.Moved.Where(m => m.Kind != ReleaseKind.NotHeld))
        {
            http.AuditNote().FollowUps.Add(new AuditEntry(0, DateTimeOffset.UtcNow, user.Id, user.RoleText, "child.released", AuditOutcome.Accepted, 200,
                $"{requestId}/{moved.ChildId}", Audit.AuditIds.TraceId(http), moved.ChildId, worker.TeamId, workerId, null,
                moved.Kind == ReleaseKind.Moved ? moved.WorkerId : null,
                moved.MoveRefused?.Rule, null, reason, null,
                moved.Kind == ReleaseKind.Moved ? $"moved to {moved.WorkerId}" : "returned to the team's queue"));
        }

        return TypedResults.Ok(result);
    }
}
