using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>A practice manager of another team learns nothing about a child that is not hers: not by referring it
/// into her own team, not from a referral's request id, not from the audit trail of her own team.</summary>
[Collection(AppCollection.Name)]
public sealed class CrossTeamTests(AppFactory factory)
{
    private readonly string _p = "xt" + Guid.NewGuid().ToString("N")[..6];

    private string TeamA => _p + "-a";
    private string TeamB => _p + "-b";
    private string WorkerA => _p + "-wa";
    private string Child => _p + "-c";

    [Fact]
    public async Task A_manager_cannot_re_refer_another_teams_closed_child_into_her_own()
    {
        await SeedAsync();
        using var leader = factory.CreateClient();
        await Ok(leader.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r1", teamId = TeamA }));
        await Ok(leader.PostAsJsonAsync($"/api/children/{Child}/close", new { requestId = "r2", reason = "no further action" }));
        using var managerB = factory.CreateClientAs(TestUsers.Manager(_p + "-pmb", TeamB));

        var taken = await managerB.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r3", teamId = TeamB });

        await AssertForbidden(taken, "child-not-yours");
        await AssertForbidden(await managerB.GetAsync($"/api/children/{Child}"), "child-not-yours");
        // Its own team re-refers it; so may a leader into another team.
        using var managerA = factory.CreateClientAs(TestUsers.Manager(_p + "-pma", TeamA));
        await Ok(managerA.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r4", teamId = TeamA }));
    }

    [Fact]
    public async Task Referring_an_open_child_of_another_team_does_not_say_which_team_it_is_in()
    {
        await SeedAsync();
        using var leader = factory.CreateClient();
        await Ok(leader.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r1", teamId = TeamA }));
        using var managerB = factory.CreateClientAs(TestUsers.Manager(_p + "-pmb", TeamB));

        using var response = await managerB.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r2", teamId = TeamB });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(TeamA, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_referrals_request_id_answers_only_the_user_who_sent_it_and_each_use_is_on_the_record()
    {
        await SeedAsync();
        using var managerA = factory.CreateClientAs(TestUsers.Manager(_p + "-pma", TeamA));
        await Ok(managerA.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "secret", teamId = TeamA }));
        using var managerB = factory.CreateClientAs(TestUsers.Manager(_p + "-pmb", TeamB));
        using var otherLeader = factory.CreateClientAs(TestUsers.Leader);

        // Another team's manager with the request id: no replay of the child's view.
        using (var replay = await managerB.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "secret", teamId = TeamB }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
            Assert.DoesNotContain("\"child\"", await replay.Content.ReadAsStringAsync());
        }

        // Even a user who may act on the child gets no answer from another user's receipt...
        using (var reused = await otherLeader.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "secret", teamId = TeamA }))
        {
            Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
            Assert.Equal("request-id-reused", (await reused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rule").GetString());
        }

        // ...while the first user's own retry is answered from it.
        var retry = await Ok(managerA.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "secret", teamId = TeamA }));
        Assert.True(retry.GetProperty("replayed").GetBoolean());

        // Each user's use of the id is on the record; the first user's retry is the same decision, recorded once.
        using var leader = factory.CreateClient();
        var refers = (await Ok(leader.GetAsync($"/api/audit?childId={Child}"))).EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "child.refer")
            .Select(e => (e.GetProperty("userId").GetString(), e.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([(_p + "-pma", "Accepted"), (_p + "-pmb", "Forbidden"), (TestUsers.Leader.Id, "Refused")], refers);
    }

    [Fact]
    public async Task A_forbidden_transfer_into_her_own_team_shows_her_nothing_of_the_child_in_her_teams_trail()
    {
        await SeedAsync();
        using var leader = factory.CreateClient();
        await Ok(leader.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r1", teamId = TeamA }));
        await Ok(leader.PostAsJsonAsync($"/api/children/{Child}/allocate", new { requestId = "r2", workerId = WorkerA }));
        using var managerB = factory.CreateClientAs(TestUsers.Manager(_p + "-pmb", TeamB));

        await AssertForbidden(await managerB.PostAsJsonAsync($"/api/children/{Child}/transfer",
            new { requestId = "r3", toTeamId = TeamB, reason = "take it" }), "team-not-yours");

        var trail = await Ok(managerB.GetAsync($"/api/audit?teamId={TeamB}"));
        Assert.DoesNotContain(TeamA, trail.GetRawText());
        Assert.DoesNotContain(WorkerA, trail.GetRawText());
        var csv = await managerB.GetStringAsync($"/api/audit/csv?teamId={TeamB}");
        Assert.DoesNotContain(TeamA, csv);
        // The attempt is on the child's own record, without what she could not see.
        var attempt = (await Ok(leader.GetAsync($"/api/audit?childId={Child}"))).EnumerateArray()
            .Single(e => e.GetProperty("outcome").GetString() == "Forbidden");
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (attempt.GetProperty("teamId").ValueKind, attempt.GetProperty("workerId").ValueKind));
    }

    [Fact]
    public async Task An_accepted_transfer_is_in_the_destination_teams_trail()
    {
        await SeedAsync();
        using var managerA = factory.CreateClientAs(TestUsers.Manager(_p + "-pma", TeamA));
        await Ok(managerA.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "r1", teamId = TeamA }));
        await Ok(managerA.PostAsJsonAsync($"/api/children/{Child}/transfer", new { requestId = "r2", toTeamId = TeamB, reason = "moved area" }));
        using var managerB = factory.CreateClientAs(TestUsers.Manager(_p + "-pmb", TeamB));

        var trail = await Ok(managerB.GetAsync($"/api/audit?teamId={TeamB}"));

        Assert.Contains(trail.EnumerateArray(), e => e.GetProperty("action").GetString() == "child.transfer");
    }

    private async Task SeedAsync()
    {
        using var http = factory.CreateClient();
        await Ok(http.PutAsJsonAsync($"/api/teams/{TeamA}", new { name = "A" }));
        await Ok(http.PutAsJsonAsync($"/api/teams/{TeamB}", new { name = "B" }));
        await Ok(http.PutAsJsonAsync($"/api/workers/{WorkerA}", new { name = "W", teamId = TeamA, role = "SocialWorker", fte = 1.0 }));
    }

    private static async Task AssertForbidden(HttpResponseMessage response, string rule)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode} {text}");
        Assert.Equal(rule, JsonDocument.Parse(text).RootElement.GetProperty("rule").GetString());
        response.Dispose();
    }

    private static async Task<JsonElement> Ok(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
