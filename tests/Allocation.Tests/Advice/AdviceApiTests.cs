using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Advice;

[Collection(AppCollection.Name)]
public class AdviceApiTests(AppFactory factory)
{
    private readonly HttpClient _http = factory.CreateClient();
    private readonly string _p = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Recommendations_put_a_returning_worker_and_a_siblings_worker_first_with_their_reasons()
    {
        var team = await Team();
        var (w1, w2, w3) = (await Worker("w1", team), await Worker("w2", team), await Worker("w3", team));

        // c1 had w2 before: allocated, closed, referred again.
        await Refer("c1", team);
        await Allocate("c1", w2);
        await Ok(Post($"/api/children/{_p}-c1/close", new { requestId = Req(), reason = "case closed" }));
        await Refer("c1", team);
        // c3's sister c2 is with w3.
        await Refer("c2", team, "fam-1");
        await Allocate("c2", w3);
        await Refer("c3", team, "fam-1");

        var returning = await Ok(_http.GetAsync($"/api/children/{_p}-c1/recommendations"));
        var first = returning.GetProperty("workers")[0];
        Assert.Equal(w2, first.GetProperty("workerId").GetString());
        Assert.Contains(first.GetProperty("reasons").EnumerateArray(), r => r.GetProperty("kind").GetString() == "continuity");

        var sibling = await Ok(_http.GetAsync($"/api/children/{_p}-c3/recommendations"));
        first = sibling.GetProperty("workers")[0];
        Assert.Equal(w3, first.GetProperty("workerId").GetString());
        Assert.Contains(first.GetProperty("reasons").EnumerateArray(), r => r.GetProperty("kind").GetString() == "siblings");
        Assert.Equal(3, sibling.GetProperty("workers").GetArrayLength());
        Assert.Equal("fam-1", (await Ok(_http.GetAsync($"/api/children/{_p}-c3"))).GetProperty("familyId").GetString());
        _ = w1;
    }

    [Fact]
    public async Task Recommendations_are_for_the_childs_own_managers_and_leaders_and_unknown_ids_are_404()
    {
        var team = await Team();
        await Worker("w1", team);
        await Refer("c1", team);
        var own = factory.CreateClientAs(TestUsers.Manager($"{_p}-pm", team));
        var other = factory.CreateClientAs(TestUsers.Manager($"{_p}-pm2", $"{_p}-elsewhere"));

        Assert.Equal(HttpStatusCode.OK, (await own.GetAsync($"/api/children/{_p}-c1/recommendations")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"/api/children/{_p}-c1/recommendations")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/children/{_p}-nobody/recommendations")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post($"/api/children/{_p}-c1/refer", new { requestId = Req(), teamId = team, familyId = "not a valid id" })).StatusCode);
    }

    [Fact]
    public async Task A_preview_changes_nothing_is_not_audited_and_answers_as_the_allocation_then_does()
    {
        var team = await Team();
        var w1 = await Worker("w1", team, ceiling: 2);
        await Refer("c1", team);
        var auditBefore = (await Ok(_http.GetAsync($"/api/audit?childId={_p}-c1"))).GetArrayLength();

        var preview = await Ok(Post($"/api/children/{_p}-c1/allocate/preview", new { requestId = Req(), workerId = w1 }));
        Assert.Equal(1, preview.GetProperty("caseloadAfter").GetInt32());
        Assert.Equal(2, preview.GetProperty("ceiling").GetInt32());
        Assert.False(preview.GetProperty("overrideNeeded").GetBoolean());
        Assert.Equal("Green", preview.GetProperty("teamRagAfter").GetString());

        Assert.Equal("Unallocated", (await Ok(_http.GetAsync($"/api/children/{_p}-c1"))).GetProperty("status").GetString());
        Assert.Equal(0, (await Ok(_http.GetAsync($"/api/workers/{w1}"))).GetProperty("caseloadCount").GetInt32());
        Assert.Equal(auditBefore, (await Ok(_http.GetAsync($"/api/audit?childId={_p}-c1"))).GetArrayLength());

        var allocated = await Allocate("c1", w1);
        Assert.Equal(preview.GetProperty("child").GetProperty("workerId").GetString(), allocated.GetProperty("child").GetProperty("workerId").GetString());
        Assert.Equal(preview.GetProperty("child").GetProperty("distinctWorkersLast12Months").GetInt32(),
            allocated.GetProperty("child").GetProperty("distinctWorkersLast12Months").GetInt32());
        Assert.Equal(preview.GetProperty("caseloadAfter").GetInt32(), (await Ok(_http.GetAsync($"/api/workers/{w1}"))).GetProperty("caseloadCount").GetInt32());
    }

    [Fact]
    public async Task A_preview_over_the_ceiling_is_the_allocations_409_and_with_a_leaders_override_says_one_is_needed()
    {
        var team = await Team();
        var w1 = await Worker("w1", team, ceiling: 1);
        await Refer("c1", team);
        await Allocate("c1", w1);
        await Refer("c2", team);

        var preview = await _http.PostAsJsonAsync($"/api/children/{_p}-c2/allocate/preview", new { requestId = Req(), workerId = w1 });
        var allocate = await _http.PostAsJsonAsync($"/api/children/{_p}-c2/allocate", new { requestId = Req(), workerId = w1 });
        Assert.Equal(HttpStatusCode.Conflict, preview.StatusCode);
        Assert.Equal(allocate.StatusCode, preview.StatusCode);
        var (p, a) = (await Json(preview), await Json(allocate));
        Assert.Equal(a.GetProperty("rule").GetString(), p.GetProperty("rule").GetString());
        Assert.Equal(a.GetProperty("detail").GetString(), p.GetProperty("detail").GetString());

        var overridden = await Ok(Post($"/api/children/{_p}-c2/allocate/preview",
            new { requestId = Req(), workerId = w1, @override = new { by = "x", reason = "sibling group" } }));
        Assert.True(overridden.GetProperty("overrideNeeded").GetBoolean());
        Assert.Equal(2, overridden.GetProperty("caseloadAfter").GetInt32());
        Assert.Equal(0, overridden.GetProperty("teamAtOrUnderCeilingAfter").GetInt32());
        Assert.Equal("Red", overridden.GetProperty("teamRagAfter").GetString());
    }

    private async Task<string> Team()
    {
        var team = $"{_p}-team";
        await Ok(_http.PutAsJsonAsync($"/api/teams/{team}", new { name = "Assessment" }));
        return team;
    }

    private async Task<string> Worker(string name, string team, int? ceiling = null)
    {
        var id = $"{_p}-{name}";
        await Ok(_http.PutAsJsonAsync($"/api/workers/{id}", new { name = $"Worker {name}", teamId = team, role = "SocialWorker", fte = 1.0, ceiling }));
        return id;
    }

    private Task<JsonElement> Refer(string child, string team, string? familyId = null) =>
        Ok(Post($"/api/children/{_p}-{child}/refer", new { requestId = Req(), teamId = team, familyId }));

    private Task<JsonElement> Allocate(string child, string worker) =>
        Ok(Post($"/api/children/{_p}-{child}/allocate", new { requestId = Req(), workerId = worker }));

    private static string Req() => Guid.NewGuid().ToString("N");

    private Task<HttpResponseMessage> Post(string url, object body) => _http.PostAsJsonAsync(url, body);

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task<JsonElement> Ok(Task<HttpResponseMessage> request)
    {
        var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
