using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Service.Audit;
using Allocation.Service.Security;
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

        api.MapGet("/{childId}", async Task<Results<Ok<ChildView>, ProblemHttpResult>> (string childId, IGrainFactory grains, HttpContext http) =>
        {
            if (await Known.FindChild(grains, childId) is not { } child)
            {
                return Problems.NotFound("child", childId);
            }

            return Access.ReadChild(http, child) is { } forbidden ? forbidden : TypedResults.Ok(child);
        }).RequireAuthorization(Policies.Caseloads).WithSummary("A child: team, worker, 24-hour clock, worker history (who, when, why) and worker-change counts.");

        api.MapPost("/{childId}/refer", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, ReferChild body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("teamId", body.TeamId, true)) is { } invalid)
            {
                return invalid;
            }

            if (body.FamilyId is not null && !Problems.IsValidId(body.FamilyId))
            {
                return Problems.Invalid("familyId", "'familyId' must be 1-64 characters of letters, digits, '.', '_' or '-'.");
            }

            if (!await Known.Team(grains, body.TeamId))
            {
                return Problems.NotFound("team", body.TeamId);
            }

            if (Access.ChangeTeam(http, body.TeamId) is { } notYours)
            {
                return notYours;
            }

            // A referral by the team's own manager creates the child if it is new. A child already known is re-referred
            // only by its own (last) team, or by a leader: another team takes it over by transfer, never by referring it
            // into itself and reading its history. The child checks that itself, against its team as it stands.
            var user = http.User.Allocation();
            var result = await grains.GetGrain<IChildGrain>(childId).Refer(
                body with { By = user.Id, Expect = null, Access = Access.CommandAccess(user), Audit = CommandAudit.Draft(http, body) });
            if (result.Refusal is null)
            {
                IdDirectory.Found(grains, IdKind.Child, childId);
            }

            Recorded(http, result);

            return Answer(http, result);
        }).RequireAuthorization(Policies.TeamManagement).Audited("child.refer")
          .WithSummary("Refers a child to a team (or re-refers a closed child): the 24-hour clock starts. An optional familyId (the case management system's) links brothers and sisters for the recommendation. Practice managers of that team and leaders.");

        api.MapPost("/{childId}/allocate", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, AllocateChild body, IGrainFactory grains, HttpContext http) =>
        {
            if ((Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("workerId", body.WorkerId, true))
                 ?? Problems.CheckOverride(body.Override)) is { } invalid)
            {
                return invalid;
            }

            return await Run(http, grains, childId, body.WorkerId, body.Override,
                (c, by, access) => c.Allocate(body with
                {
                    By = by, Override = body.Override is { } o ? o with { By = by } : null, Expect = null, Access = access, Audit = CommandAudit.Draft(http, body),
                }));
        }).RequireAuthorization(Policies.TeamManagement).Audited("child.allocate")
          .WithSummary("Allocates an unallocated child to a worker of its team, within the worker's ceiling (or above it with a senior leader's override and reason).");

        api.MapPost("/{childId}/reallocate", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, ReallocateChild body, IGrainFactory grains, HttpContext http) =>
        {
            if ((Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("workerId", body.WorkerId, true), ("reason", body.Reason, false))
                 ?? Problems.CheckOverride(body.Override)) is { } invalid)
            {
                return invalid;
            }

            return await Run(http, grains, childId, body.WorkerId, body.Override,
                (c, by, access) => c.Reallocate(body with
                {
                    By = by, Override = body.Override is { } o ? o with { By = by } : null, Expect = null, Access = access, Audit = CommandAudit.Draft(http, body),
                }));
        }).RequireAuthorization(Policies.TeamManagement).Audited("child.reallocate").WithSummary("Moves an allocated child to another worker of its team; counts as a worker change.");

        api.MapPost("/{childId}/transfer", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, TransferChild body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("toTeamId", body.ToTeamId, true), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            if (!await Known.Team(grains, body.ToTeamId))
            {
                return Problems.NotFound("team", body.ToTeamId);
            }

            return await Run(http, grains, childId, null, null, (c, by, access) => c.Transfer(body with { By = by, Expect = null, Access = access, Audit = CommandAudit.Draft(http, body) }));
        }).RequireAuthorization(Policies.TeamManagement).Audited("child.transfer")
          .WithSummary("Transfers a child out of its team to another (a transfer point); it waits there unallocated with a new 24-hour clock. The child's own team's managers and leaders.");

        api.MapPost("/{childId}/close", async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> (string childId, CloseChild body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false), ("reason", body.Reason, false)) is { } invalid)
            {
                return invalid;
            }

            return await Run(http, grains, childId, null, null, (c, by, access) => c.Close(body with { By = by, Expect = null, Access = access, Audit = CommandAudit.Draft(http, body) }));
        }).RequireAuthorization(Policies.TeamManagement).Audited("child.close").WithSummary("Closes the child's case, freeing the worker's place. The history is kept.");

        return app;
    }

    /// <summary>
    /// A command on an existing child by a manager of its team (or a leader). The child itself checks the user's teams
    /// against its own as it applies the command, and returns its team and worker before it for the audit entry: one
    /// call to the child, and no window between the check and the command. Only when the API would refuse the command
    /// for another reason (a worker unknown, an override by someone not entitled to one) is the child's team read
    /// first, so that someone outside the team gets the team's refusal, and learns nothing from the other.
    /// </summary>
    private static async Task<Results<Ok<ChildResponse>, ProblemHttpResult>> Run(
        HttpContext http, IGrainFactory grains, string childId, string? workerId, CeilingOverride? ceilingOverride,
        Func<IChildGrain, string, CommandAccess, Task<ChildResult>> command)
    {
        if (!Problems.IsValidId(childId) || !await Known.Child(grains, childId))
        {
            return Problems.NotFound("child", childId);
        }

        var refusal = Access.Override(http, ceilingOverride);
        if (refusal is null && workerId is not null && !await Known.Worker(grains, workerId))
        {
            refusal = Problems.NotFound("worker", workerId);
        }

        if (refusal is not null)
        {
            var place = await grains.GetGrain<IChildGrain>(childId).GetPlace();
            Note(http, place);
            return place?.TeamId is { } team && Access.ChangeTeam(http, team) is { } notYours ? notYours : refusal;
        }

        var user = http.User.Allocation();
        var result = await command(grains.GetGrain<IChildGrain>(childId), user.Id, Access.CommandAccess(user));
        Note(http, result.Before);
        Recorded(http, result);
        return Answer(http, result);
    }

    /// <summary>Whether the child stored the command's audit entry with its write (then the API does not write it).</summary>
    private static void Recorded(HttpContext http, ChildResult result)
    {
        if (result.Audited)
        {
            http.AuditNote().Recorded = true;
        }
    }

    /// <summary>The child's team and worker before the command, on the audit entry.</summary>
    private static void Note(HttpContext http, ChildExpectation? place)
    {
        if (place is not null)
        {
            var note = http.AuditNote();
            (note.TeamId, note.WorkerId) = (place.TeamId, place.WorkerId);
        }
    }

    /// <summary>The command's answer; a refusal of access is logged as the API's own are.</summary>
    private static Results<Ok<ChildResponse>, ProblemHttpResult> Answer(HttpContext http, ChildResult result) => result.Refusal switch
    {
        { Kind: RefusalKind.Forbidden } forbidden => Access.Forbidden(http, forbidden.Rule, forbidden.Detail),
        { } refusal => Problems.From(refusal),
        null => TypedResults.Ok(new ChildResponse(result.Child!, result.Receipt!, result.Replayed)),
    };
}
