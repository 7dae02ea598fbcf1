using System.Runtime.CompilerServices;
using System.Text.Json;
using Allocation.Grains.Authority;
using Allocation.Grains.Teams;
using Allocation.Service.Audit;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Api;

public static class TeamsApi
{
    public sealed record TeamBody(string Name);

    // The team grain hands out the same board object until its version changes (or it is a second old), so the JSON of
    // each board is written once, not once per read.
    private static readonly ConditionalWeakTable<TeamBoard, byte[]> BoardJson = [];

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

        api.MapGet("/teams/{teamId}/board", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (
            string teamId, IGrainFactory grains, IOptions<JsonOptions> json, HttpContext http) =>
        {
            if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
            {
                return Problems.NotFound("team", teamId);
            }

            if (Access.ReadTeam(http, teamId) is { } forbidden)
            {
                return forbidden;
            }

            var board = await grains.GetGrain<ITeamGrain>(teamId).GetBoard();
            var bytes = BoardJson.GetValue(board, b => JsonSerializer.SerializeToUtf8Bytes(b, json.Value.SerializerOptions));
            return TypedResults.File(bytes, "application/json; charset=utf-8");
        }).Produces<TeamBoard>().RequireAuthorization(Policies.TeamManagement)
          .WithSummary("The team board: workers with caseload and ceiling, the unallocated queue with clocks, the feed.");

        api.MapGet("/overview", async (IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).GetOverview()))
            .RequireAuthorization(Policies.Leaders)
            .WithTags("Overview")
            .WithSummary("Every team's pressure, for senior leaders.");

        return app;
    }
}
