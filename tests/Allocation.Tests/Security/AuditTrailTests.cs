using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>Every command, accepted or refused, is on the record once, with who, the rule and figures, and why.</summary>
[Collection(AppCollection.Name)]
public sealed class AuditTrailTests(AppFactory factory)
{
    private readonly string _p = "au" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task Accepted_refused_forbidden_and_overridden_commands_are_in_the_childs_allocation_history()
    {
        var (team, worker) = await SeedAsync(ceiling: 1);
        using var admin = factory.CreateClient();
        using var manager = factory.CreateClientAs(TestUsers.Manager(_p + "-pm", team));
        using var leader = factory.CreateClientAs(TestUsers.Leader);
        using var social = factory.CreateClientAs(TestUsers.Worker(worker));
        await Ok(manager.PostAsJsonAsync($"/api/children/{_p}-c1/refer", new { requestId = "r1", teamId = team }));
        await Ok(manager.PostAsJsonAsync($"/api/children/{_p}-c1/allocate", new { requestId = "r2", workerId = worker }));
        await Ok(manager.PostAsJsonAsync($"/api/children/{_p}-c2/refer", new { requestId = "r3", teamId = team }));
        Assert.Equal(HttpStatusCode.Conflict, (await manager.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", new { requestId = "r4", workerId = worker })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await social.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", new { requestId = "r5", workerId = worker })).StatusCode);
        var over = new { requestId = "r6", workerId = worker, @override = new { by = "x", reason = "keeps siblings together" } };
        await Ok(leader.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", over));
        // A retry of the same command is the same decision: not recorded twice.
        await Ok(leader.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", over));

        var history = await Ok(manager.GetAsync($"/api/children/{_p}-c2/allocation-history"));
        var entries = history.EnumerateArray().Select(e => (
            Action: e.GetProperty("action").GetString(), Outcome: e.GetProperty("outcome").GetString(), User: e.GetProperty("userId").GetString(),
            Roles: e.GetProperty("roles").GetString(), Rule: e.GetProperty("rule").GetString(), Figures: e.GetProperty("figures").GetString(),
            Override: e.GetProperty("overrideReason").GetString(), RequestId: e.GetProperty("requestId").GetString(),
            Worker: e.GetProperty("workerId").GetString(), Team: e.GetProperty("teamId").GetString())).ToList();

        Assert.Equal(["child.refer", "child.allocate", "child.allocate", "child.allocate"], entries.Select(e => e.Action));
        Assert.Equal(["Accepted", "Refused", "Forbidden", "Accepted"], entries.Select(e => e.Outcome));
        Assert.Equal([_p + "-pm", _p + "-pm", worker, TestUsers.Leader.Id], entries.Select(e => e.User));
        Assert.Equal(["PracticeManager", "PracticeManager", "SocialWorker", "SeniorLeader"], entries.Select(e => e.Roles));
        Assert.Equal("caseload-ceiling", entries[1].Rule);
        Assert.Equal("current=1; ceiling=1; after=2", entries[1].Figures);
        Assert.Equal("role-not-permitted", entries[2].Rule);
        Assert.Equal(("r6", "keeps siblings together"), (entries[3].RequestId, entries[3].Override));
        Assert.All(entries.Where(e => e.Outcome != "Forbidden"), e => Assert.Equal(team, e.Team));
        Assert.All(entries.Skip(1).Where(e => e.Outcome != "Forbidden"), e => Assert.Equal(worker, e.Worker));
        // Refused by the role policy before the body was read: the route's child only, nothing the user could not see.
        Assert.Equal((null, null), (entries[2].Team, entries[2].Worker));

        // The same trail per worker and per team, and as CSV.
        var byWorker = await Ok(leader.GetAsync($"/api/audit?workerId={worker}"));
        Assert.Equal(3, byWorker.EnumerateArray().Count(e => e.GetProperty("action").GetString() == "child.allocate"));
        var byTeam = await Ok(manager.GetAsync($"/api/audit?teamId={team}"));
        // The team and worker set-up, two referrals and the three allocation attempts by users who may see the team.
        Assert.Equal(7, byTeam.GetArrayLength());
        var csv = await manager.GetStringAsync($"/api/audit/csv?childId={_p}-c2");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sequence,at,user_id,roles,action,outcome", lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.Contains("keeps siblings together", lines[4]);
        _ = admin;
    }

    [Fact]
    public async Task Administration_commands_and_moves_off_a_leavers_caseload_are_recorded()
    {
        var (team, worker) = await SeedAsync(ceiling: null);
        using var http = factory.CreateClient();
        await Ok(http.PostAsJsonAsync($"/api/children/{_p}-c1/refer", new { requestId = "r1", teamId = team }));
        await Ok(http.PostAsJsonAsync($"/api/children/{_p}-c1/allocate", new { requestId = "r2", workerId = worker }));
        await Ok(http.PostAsJsonAsync($"/api/workers/{worker}/leave", new { requestId = "r3", reason = "left the authority" }));

        var trail = await Ok(http.GetAsync($"/api/audit?teamId={team}"));
        var actions = trail.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["team.upsert", "worker.upsert", "child.refer", "child.allocate", "worker.leave", "child.released"], actions);
        // The former path, kept as an alias of the allocation history.
        var history = await Ok(http.GetAsync($"/api/children/{_p}-c1/chronology"));
        var released = history.EnumerateArray().Last();
        Assert.Equal(("child.released", "left the authority", worker), (released.GetProperty("action").GetString(),
            released.GetProperty("reason").GetString(), released.GetProperty("workerId").GetString()));
    }

    [Fact]
    public async Task Only_leaders_read_the_whole_trail_and_others_only_their_own_subjects()
    {
        var (team, worker) = await SeedAsync(ceiling: null);
        using var manager = factory.CreateClientAs(TestUsers.Manager(_p + "-pm", "some-other-team"));
        using var social = factory.CreateClientAs(TestUsers.Worker(worker));
        using var leader = factory.CreateClientAs(TestUsers.Leader);

        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync($"/api/audit?teamId={team}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await social.GetAsync($"/api/audit?workerId={worker}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await leader.GetAsync("/api/audit?limit=5")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await leader.GetAsync($"/api/audit?teamId={team}&workerId={worker}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await leader.GetAsync("/api/audit?childId=nobody-at-all")).StatusCode);
    }

    private async Task<(string Team, string Worker)> SeedAsync(int? ceiling)
    {
        using var http = factory.CreateClient();
        var team = _p + "-t";
        var worker = _p + "-w";
        await Ok(http.PutAsJsonAsync($"/api/teams/{team}", new { name = "Audit" }));
        await Ok(http.PutAsJsonAsync($"/api/workers/{worker}", new { name = "W", teamId = team, role = "SocialWorker", fte = 1.0, ceiling }));
        return (team, worker);
    }

    private static async Task<JsonElement> Ok(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
