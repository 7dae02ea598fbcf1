using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Allocation.Tests.Security;

/// <summary>The rules beyond the role policies: whose team, whose child, whose caseload, and who may override.</summary>
[Collection(AppCollection.Name)]
public sealed class AccessRulesTests(AppFactory factory)
{
    private readonly string _p = "ar" + Guid.NewGuid().ToString("N")[..6];

    private string TeamA => _p + "-a";
    private string TeamB => _p + "-b";
    private string WorkerA => _p + "-wa";
    private string WorkerB => _p + "-wb";

    [Fact]
    public async Task A_social_worker_reads_their_own_caseload_and_children_and_nothing_else()
    {
        await SeedAsync();
        await ReferAndAllocate("c1", TeamA, WorkerA);
        await ReferAndAllocate("c2", TeamA, WorkerB2());
        using var worker = factory.CreateClientAs(TestUsers.Worker(WorkerA));

        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync($"/api/workers/{WorkerA}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync($"/api/children/{_p}-c1")).StatusCode);
        await AssertForbidden(await worker.GetAsync($"/api/children/{_p}-c2"), "child-not-yours");
        await AssertForbidden(await worker.GetAsync($"/api/workers/{WorkerB}"), "worker-not-yours");
        await AssertForbidden(await worker.GetAsync($"/api/teams/{TeamA}/board"), "role-not-permitted");
        await AssertForbidden(await worker.GetAsync("/api/overview"), "role-not-permitted");
    }

    [Fact]
    public async Task A_practice_manager_changes_only_their_own_teams_and_a_transfer_lands_unallocated()
    {
        await SeedAsync();
        await ReferAndAllocate("c1", TeamA, WorkerA);
        await ReferAndAllocate("c2", TeamB, WorkerB);
        using var manager = factory.CreateClientAs(TestUsers.Manager(_p + "-pm", TeamA));

        Assert.Equal(HttpStatusCode.OK, (await manager.GetAsync($"/api/teams/{TeamA}/board")).StatusCode);
        await AssertForbidden(await manager.GetAsync($"/api/teams/{TeamB}/board"), "team-not-yours");
        await AssertForbidden(await manager.GetAsync($"/api/children/{_p}-c2"), "team-not-yours", "child-not-yours");
        await AssertForbidden(await manager.PostAsJsonAsync($"/api/children/{_p}-c2/close", new { requestId = Req(), reason = "no" }), "team-not-yours");
        // What the child checks comes from the sign-in, never from the body.
        await AssertForbidden(await manager.PostAsJsonAsync($"/api/children/{_p}-c2/close",
            new { requestId = Req(), reason = "no", access = new { anyTeam = true, teams = new[] { TeamB } } }), "team-not-yours");
        await AssertForbidden(await manager.PostAsJsonAsync($"/api/children/{_p}-c3/refer", new { requestId = Req(), teamId = TeamB }), "team-not-yours");
        await AssertForbidden(await manager.PostAsJsonAsync($"/api/workers/{WorkerB}/absences",
            new { requestId = Req(), from = DateTimeOffset.UtcNow, to = (DateTimeOffset?)null, reason = "sick" }), "worker-not-yours");

        // Out of their team, into another: allowed, and it waits there unallocated.
        var moved = await manager.PostAsJsonAsync($"/api/children/{_p}-c1/transfer", new { requestId = Req(), toTeamId = TeamB, reason = "moved area" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        var child = (await moved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("child");
        Assert.Equal((TeamB, "Unallocated"), (child.GetProperty("teamId").GetString(), child.GetProperty("status").GetString()));
        // ...and is no longer theirs.
        await AssertForbidden(await manager.GetAsync($"/api/children/{_p}-c1"), "child-not-yours");
    }

    [Fact]
    public async Task Only_a_senior_leader_may_override_a_ceiling_and_the_record_names_them()
    {
        await SeedAsync(ceiling: 1);
        await ReferAndAllocate("c1", TeamA, WorkerA);
        await Refer("c2", TeamA);
        using var manager = factory.CreateClientAs(TestUsers.Manager(_p + "-pm", TeamA));
        using var leader = factory.CreateClientAs(TestUsers.Leader);
        var command = new { requestId = Req(), workerId = WorkerA, @override = new { by = "someone-else", reason = "sibling of c1" } };

        await AssertForbidden(await manager.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", command), "override-needs-senior-leader");
        var refusedPlain = await manager.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", new { requestId = Req(), workerId = WorkerA });
        Assert.Equal(HttpStatusCode.Conflict, refusedPlain.StatusCode);

        var accepted = await leader.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", command with { requestId = Req() });
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var period = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("child").GetProperty("workerHistory")[0];
        // The override is the signed-in leader's, not whoever the body named.
        Assert.Equal(TestUsers.Leader.Id, period.GetProperty("override").GetProperty("by").GetString());
        Assert.Equal(TestUsers.Leader.Id, period.GetProperty("by").GetString());
    }

    [Fact]
    public async Task The_hub_refuses_joins_to_boards_that_are_not_the_users()
    {
        await SeedAsync();
        await ReferAndAllocate("c1", TeamA, WorkerA);
        await using var worker = await BoardsClient.Connect(factory, TestUsers.Worker(WorkerA));
        await using var manager = await BoardsClient.Connect(factory, TestUsers.Manager(_p + "-pm", TeamA));

        var own = await worker.Hub.InvokeAsync<JsonElement>("SubscribeWorker", WorkerA);
        Assert.Equal(WorkerA, own.GetProperty("workerId").GetString());
        var team = await Assert.ThrowsAsync<HubException>(() => worker.Hub.InvokeAsync<JsonElement>("SubscribeTeam", TeamA));
        Assert.Contains("team-not-yours", team.Message);
        var other = await Assert.ThrowsAsync<HubException>(() => worker.Hub.InvokeAsync<JsonElement>("SubscribeWorker", WorkerB));
        Assert.Contains("worker-not-yours", other.Message);
        var overview = await Assert.ThrowsAsync<HubException>(() => worker.Hub.InvokeAsync<JsonElement>("SubscribeOverview"));
        Assert.Contains("overview-needs-senior-leader", overview.Message);

        Assert.Equal(TeamA, (await manager.Hub.InvokeAsync<JsonElement>("SubscribeTeam", TeamA)).GetProperty("teamId").GetString());
        var otherTeam = await Assert.ThrowsAsync<HubException>(() => manager.Hub.InvokeAsync<JsonElement>("SubscribeTeam", TeamB));
        Assert.Contains("team-not-yours", otherTeam.Message);
    }

    [Fact]
    public async Task The_hub_needs_a_token_and_a_bad_one_is_refused()
    {
        var connect = () => BoardsClient.ConnectWithToken(factory, "not-a-token");
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(connect);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private string WorkerB2() => WorkerA + "2";

    private async Task SeedAsync(int? ceiling = null)
    {
        using var http = factory.CreateClient();
        foreach (var team in new[] { TeamA, TeamB })
        {
            (await http.PutAsJsonAsync($"/api/teams/{team}", new { name = team })).EnsureSuccessStatusCode();
        }

        foreach (var (worker, team) in new[] { (WorkerA, TeamA), (WorkerB2(), TeamA), (WorkerB, TeamB) })
        {
            (await http.PutAsJsonAsync($"/api/workers/{worker}", new { name = worker, teamId = team, role = "SocialWorker", fte = 1.0, ceiling })).EnsureSuccessStatusCode();
        }
    }

    private async Task Refer(string child, string team)
    {
        using var http = factory.CreateClient();
        (await http.PostAsJsonAsync($"/api/children/{_p}-{child}/refer", new { requestId = Req(), teamId = team })).EnsureSuccessStatusCode();
    }

    private async Task ReferAndAllocate(string child, string team, string worker)
    {
        await Refer(child, team);
        using var http = factory.CreateClient();
        (await http.PostAsJsonAsync($"/api/children/{_p}-{child}/allocate", new { requestId = Req(), workerId = worker })).EnsureSuccessStatusCode();
    }

    private static async Task AssertForbidden(HttpResponseMessage response, params string[] rules)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"expected 403, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("rule").GetString(), rules);
    }

    private static string Req() => Guid.NewGuid().ToString("N");
}
