using Allocation.Grains.Children;
using Allocation.Grains.Teams;
using Allocation.Service.Audit;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

/// <summary>The data the nightly threshold checks need beyond allocation: case records and team establishments.</summary>
public static class CaseRecordsApi
{
    public sealed record EstablishmentBody(decimal? EstablishmentFte);

    public sealed record EstablishmentResponse(string TeamId, decimal? EstablishmentFte);

    public static IEndpointRouteBuilder MapCaseRecordsApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/api/children/{childId}/case-record", async Task<Results<Ok<ChildrenApi.ChildResponse>, ProblemHttpResult>> (
            string childId, UpdateCaseRecord body, IGrainFactory grains, HttpContext http) =>
        {
            if (Problems.Check(("childId", childId, true), ("requestId", body.RequestId, false)) is { } invalid)
            {
                return invalid;
            }

            if (await Known.FindChild(grains, childId) is not { } child)
            {
                return Problems.NotFound("child", childId);
            }

            var note = http.AuditNote();
            (note.TeamId, note.WorkerId) = (child.TeamId, child.WorkerId);
            if (Access.ReadChild(http, child) is { } forbidden)
            {
                return forbidden;
            }

            // Who did it is the signed-in user, never the body's 'by'.
            var result = await grains.GetGrain<IChildGrain>(childId).UpdateCaseRecord(
                body with { By = http.User.Allocation().Id, Expect = ChildExpectation.Of(child) });
            return result.Refusal is { } refusal
                ? Problems.From(refusal)
                : TypedResults.Ok(new ChildrenApi.ChildResponse(result.Child!, result.Receipt!, result.Replayed));
        }).RequireAuthorization(Policies.Caseloads).Audited("child.case-record").WithTags("Children")
          .WithSummary("Replaces the child's case record: plan type and start, latest statutory visit (due, done), latest assessment (start, completion), last supervision and management oversight. The child's worker, its team's managers and leaders.");

        app.MapPut("/api/teams/{teamId}/establishment", async Task<Results<Ok<EstablishmentResponse>, ProblemHttpResult>> (
            string teamId, EstablishmentBody body, IGrainFactory grains) =>
        {
            if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
            {
                return Problems.NotFound("team", teamId);
            }

            if (body.EstablishmentFte is < 0 or > 10_000)
            {
                return Problems.Invalid("establishmentFte", "'establishmentFte' must be between 0 and 10000, or null when unknown.");
            }

            await grains.GetGrain<ITeamGrain>(teamId).SetEstablishment(body.EstablishmentFte);
            return TypedResults.Ok(new EstablishmentResponse(teamId, body.EstablishmentFte));
        }).RequireAuthorization(Policies.Administrators).Audited("team.establishment").WithTags("Teams")
          .WithSummary("Sets the team's establishment (funded FTE) for the vacancy and agency checks; null when unknown.");

        return app;
    }
}
