using Allocation.Grains.Authority;
using Allocation.Grains.Teams;
using Allocation.Service.Audit;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

public static class TeamsApi
{
    public sealed record TeamBody(string Name);

    public static IEndpointRouteBuilder MapTeamsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Teams");

        api.MapGet("/teams", async (IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams()))
            .RequireAuthorization(Policies.SignedIn)
            .WithSummary("Lists the authority's teams (ids and names).");

        api.MapPut("/teams/{teamId}", async Task<Results<Ok<TeamInfo>, ProblemHttpResult>> (string teamId, TeamBody body, IGrainFactory grains) =>
        {
            if (Problems.Check(("teamId", teamId, true), ("name", body.Name, false)) is { } invalid)
            {
                return invalid;
            }

            return TypedResults.Ok(await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).UpsertTeam(teamId, body.Name));
        }).RequireAuthorization(Policies.Administrators).Audited("team.upsert").WithSummary("Creates or renames a team.");

        api.MapGet("/teams/{teamId}/board", async Task<Results<Ok<TeamBoard>, ProblemHttpResult>> (string teamId, IGrainFactory grains, HttpContext http) =>
        {
            if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
            {
                return Problems.NotFound("team", teamId);
            }

            return Access.ReadTeam(http, teamId) is { } forbidden ? forbidden : TypedResults.Ok(await grains.GetGrain<ITeamGrain>(teamId).GetBoard());
        }).RequireAuthorization(Policies.TeamManagement).WithSummary("The team board: workers with caseload and ceiling, the unallocated queue with clocks, the feed.");

        api.MapGet("/overview", async (IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).GetOverview()))
            .RequireAuthorization(Policies.Leaders)
            .WithTags("Overview")
            .WithSummary("Every team's pressure, for senior leaders.");

        return app;
    }
}
