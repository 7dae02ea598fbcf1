using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Api;

[Collection(AppCollection.Name)]
public class ApiTests(AppFactory factory)
{
    private readonly HttpClient _http = factory.CreateClient();
    private readonly string _p = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Refer_allocate_and_read_back_through_the_api()
    {
        var (team, worker) = await TeamWithWorker();
        await Ok(Post($"/api/children/{_p}-c1/refer", new { requestId = Req(), teamId = team, by = "pm-1" }));

        var allocated = await Ok(Post($"/api/children/{_p}-c1/allocate", new { requestId = Req(), workerId = worker, by = "pm-1" }));
        Assert.Equal(worker, allocated.GetProperty("child").GetProperty("workerId").GetString());
        Assert.Equal("Allocated", allocated.GetProperty("child").GetProperty("status").GetString());

        var child = await Ok(_http.GetAsync($"/api/children/{_p}-c1"));
        // Who allocated is the signed-in user, whatever the body claims.
        Assert.Equal(TestUsers.Superuser.Id, child.GetProperty("workerHistory")[0].GetProperty("by").GetString());
        var caseload = await Ok(_http.GetAsync($"/api/workers/{worker}"));
        Assert.Equal(1, caseload.GetProperty("caseloadCount").GetInt32());
        var board = await Ok(_http.GetAsync($"/api/teams/{team}/board"));
        Assert.Equal(1, board.GetProperty("workers")[0].GetProperty("caseload").GetInt32());
        var overview = await Ok(_http.GetAsync("/api/overview"));
        Assert.Contains(overview.GetProperty("teams").EnumerateArray(), t => t.GetProperty("teamId").GetString() == team);
    }

    [Fact]
    public async Task A_board_read_again_is_the_same_json_and_a_change_shows_in_the_next_read()
    {
        var (team, worker) = await TeamWithWorker();
        await Referred("c1", team);
        var first = await _http.GetAsync($"/api/teams/{team}/board");
        var again = await _http.GetAsync($"/api/teams/{team}/board");

        await Ok(Post($"/api/children/{_p}-c1/allocate", new { requestId = Req(), workerId = worker }));
        var changed = await Ok(_http.GetAsync($"/api/teams/{team}/board"));

        Assert.Equal("application/json", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(1, (await Ok(Task.FromResult(first))).GetProperty("unallocated").GetArrayLength());
        Assert.Equal(0, changed.GetProperty("unallocated").GetArrayLength());
        Assert.Equal(1, changed.GetProperty("workers")[0].GetProperty("caseload").GetInt32());
    }

    [Fact]
    public async Task Allocation_over_the_ceiling_is_409_naming_the_rule_and_the_numbers()
    {
        var (team, worker) = await TeamWithWorker(ceiling: 1);
        await Referred("c1", team);
        await Ok(Post($"/api/children/{_p}-c1/allocate", new { requestId = Req(), workerId = worker }));
        await Referred("c2", team);

        var response = await Post($"/api/children/{_p}-c2/allocate", new { requestId = Req(), workerId = worker });

        var problem = await Problem(response, HttpStatusCode.Conflict);
        Assert.Equal("caseload-ceiling", problem.GetProperty("rule").GetString());
        Assert.Equal(1, problem.GetProperty("current").GetInt32());
        Assert.Equal(1, problem.GetProperty("ceiling").GetInt32());
        Assert.Contains("ceiling of 1", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_ids_are_404_problems()
    {
        var (team, worker) = await TeamWithWorker();
        await Problem(await _http.GetAsync($"/api/children/{_p}-nobody"), HttpStatusCode.NotFound);
        await Problem(await _http.GetAsync($"/api/workers/{_p}-nobody"), HttpStatusCode.NotFound);
        await Problem(await _http.GetAsync($"/api/teams/{_p}-nowhere/board"), HttpStatusCode.NotFound);
        await Problem(await Post($"/api/children/{_p}-nobody/allocate", new { requestId = Req(), workerId = worker }), HttpStatusCode.NotFound);
        await Problem(await Post($"/api/children/{_p}-c/refer", new { requestId = Req(), teamId = $"{_p}-nowhere" }), HttpStatusCode.NotFound);
        await Referred("c", team);
        var unknownWorker = await Problem(await Post($"/api/children/{_p}-c/allocate", new { requestId = Req(), workerId = $"{_p}-ghost" }), HttpStatusCode.NotFound);
        Assert.Equal("worker", unknownWorker.GetProperty("kind").GetString());
        await Problem(await Put($"/api/workers/{_p}-w9", new { name = "W", teamId = $"{_p}-nowhere", role = "SocialWorker", fte = 1.0 }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_unknown_id_never_activates_a_grain()
    {
        var id = $"{_p}-never";
        await Problem(await _http.GetAsync($"/api/children/{id}"), HttpStatusCode.NotFound);
        await Problem(await Post($"/api/children/{id}/close", new { requestId = Req(), reason = "x" }), HttpStatusCode.NotFound);
        await Problem(await _http.GetAsync($"/api/workers/{id}"), HttpStatusCode.NotFound);

        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        var stats = await grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        Assert.DoesNotContain(stats, s => s.GrainId.ToString().Contains(id, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{\"teamId\":\"t\"}")]                      // requestId missing
    [InlineData("{\"requestId\":\"\",\"teamId\":\"t\"}")]   // requestId empty
    [InlineData("{\"requestId\":\"r\",\"teamId\":\"a b\"}")] // not an id
    public async Task Malformed_commands_are_400_problems_and_change_nothing(string body)
    {
        var (team, _) = await TeamWithWorker();
        var response = await _http.PostAsync($"/api/children/{_p}-c/refer", new StringContent(body.Replace("\"t\"", $"\"{team}\""), Encoding.UTF8, "application/json"));

        await Problem(response, HttpStatusCode.BadRequest);
        await Problem(await _http.GetAsync($"/api/children/{_p}-c"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Ids_that_are_not_cms_ids_are_400()
    {
        await Problem(await Put("/api/teams/bad%20id", new { name = "x" }), HttpStatusCode.BadRequest);
        await Problem(await Put($"/api/workers/{new string('w', 65)}", new { name = "x", teamId = "t", role = "SocialWorker", fte = 1 }), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_retried_request_is_applied_once_and_answered_with_the_first_result()
    {
        var (team, worker) = await TeamWithWorker();
        await Referred("c", team);
        var command = new { requestId = Req(), workerId = worker };

        var first = await Ok(Post($"/api/children/{_p}-c/allocate", command));
        var retry = await Ok(Post($"/api/children/{_p}-c/allocate", command));

        Assert.False(first.GetProperty("replayed").GetBoolean());
        Assert.True(retry.GetProperty("replayed").GetBoolean());
        Assert.Equal(first.GetProperty("receipt").GetRawText(), retry.GetProperty("receipt").GetRawText());
        Assert.Equal(1, (await Ok(_http.GetAsync($"/api/workers/{worker}"))).GetProperty("caseloadCount").GetInt32());
    }

    [Fact]
    public async Task Transfer_close_absence_and_leave_work_through_the_api()
    {
        var (team, worker) = await TeamWithWorker();
        var other = $"{_p}-other";
        await Ok(Put($"/api/teams/{other}", new { name = "Other" }));
        await Referred("c1", team);
        await Referred("c2", team);
        await Ok(Post($"/api/children/{_p}-c1/allocate", new { requestId = Req(), workerId = worker }));
        await Ok(Post($"/api/children/{_p}-c2/allocate", new { requestId = Req(), workerId = worker }));

        var transferred = await Ok(Post($"/api/children/{_p}-c1/transfer", new { requestId = Req(), toTeamId = other, reason = "moved area" }));
        Assert.Equal(1, transferred.GetProperty("child").GetProperty("transferPoints").GetInt32());
        var absence = await Ok(Post($"/api/workers/{worker}/absences", new { requestId = Req(), from = DateTimeOffset.UtcNow.AddMinutes(-1), to = DateTimeOffset.UtcNow.AddDays(7), reason = "annual leave" }));
        Assert.Equal("Queued", absence.GetProperty("moved")[0].GetProperty("kind").GetString());
        var closed = await Ok(Post($"/api/children/{_p}-c2/close", new { requestId = Req(), reason = "no further action" }));
        Assert.Equal("Closed", closed.GetProperty("child").GetProperty("status").GetString());
        var left = await Ok(Post($"/api/workers/{worker}/leave", new { requestId = Req(), reason = "resigned" }));
        Assert.True(left.GetProperty("worker").GetProperty("hasLeft").GetBoolean());
    }

    [Fact]
    public async Task OpenApi_document_and_health_are_served()
    {
        var doc = await Ok(_http.GetAsync("/openapi/v1.json"));
        var paths = doc.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/children/{childId}/allocate", out _));
        Assert.True(paths.TryGetProperty("/api/teams/{teamId}/board", out _));
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/api-docs")).StatusCode);
    }

    private async Task<(string Team, string Worker)> TeamWithWorker(int? ceiling = null)
    {
        var team = $"{_p}-team";
        await Ok(Put($"/api/teams/{team}", new { name = "Assessment" }));
        var worker = $"{_p}-w1";
        await Ok(Put($"/api/workers/{worker}", new { name = "Worker One", teamId = team, role = "SocialWorker", fte = 1.0, ceiling }));
        return (team, worker);
    }

    private Task Referred(string child, string team) => Ok(Post($"/api/children/{_p}-{child}/refer", new { requestId = Req(), teamId = team }));

    private string Req() => Guid.NewGuid().ToString("N");

    private Task<HttpResponseMessage> Post(string url, object body) => _http.PostAsJsonAsync(url, body);

    private Task<HttpResponseMessage> Put(string url, object body) => _http.PutAsJsonAsync(url, body);

    private static async Task<JsonElement> Ok(Task<HttpResponseMessage> request)
    {
        var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
