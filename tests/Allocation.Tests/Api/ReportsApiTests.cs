using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Api;

/// <summary>The report endpoints on a host of their own, so its report store holds only what these tests put there.</summary>
public class ReportsApiTests(AppFactory factory) : IClassFixture<AppFactory>
{
    private readonly HttpClient _http = factory.CreateClient();
    private readonly string _p = Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData("/api/reports/2026-13-45")]
    [InlineData("/api/reports/yesterday")]
    [InlineData("/api/reports/03-11-2026/csv")]
    [InlineData("/api/reports/kpis/vacancy/history?from=2026-1-1")]
    [InlineData("/api/reports/kpis/vacancy/history?from=2026-03-10&to=2026-03-01")]
    public async Task A_malformed_date_is_a_400_problem(string url)
    {
        var response = await _http.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/api/reports/2020-01-01")]
    [InlineData("/api/reports/2020-01-01/csv")]
    [InlineData("/api/reports/kpis/no-such-kpi/history")]
    [InlineData("/api/reports/kpis/vacancy/history?teamId=no-such-team")]
    public async Task A_date_without_a_report_or_an_unknown_kpi_is_a_404_problem(string url)
    {
        var response = await _http.GetAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Run_now_is_accepted_with_a_job_id_and_the_report_is_then_served_as_json_csv_and_history()
    {
        await Put($"/api/teams/{_p}-t", new { name = "Reports team" });
        await Put($"/api/teams/{_p}-t/establishment", new { establishmentFte = 3.0 });
        await Put($"/api/workers/{_p}-w", new { name = "W", teamId = $"{_p}-t", role = "SocialWorker", fte = 1.0 });

        var run = await _http.PostAsync("/api/reports/run", null);
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        var jobId = (await Json(run)).GetProperty("jobId").GetString();
        Assert.False(string.IsNullOrEmpty(jobId));

        var latest = await WaitForLatest(jobId!);
        var date = latest.GetProperty("date").GetString();
        Assert.Contains(latest.GetProperty("teams").EnumerateArray(), t => t.GetProperty("teamId").GetString() == $"{_p}-t");
        var vacancy = latest.GetProperty("authority").EnumerateArray().Single(k => k.GetProperty("id").GetString() == "vacancy");
        Assert.Equal(10m, vacancy.GetProperty("target").GetDecimal());

        var byDate = await _http.GetAsync($"/api/reports/{date}");
        Assert.Equal(HttpStatusCode.OK, byDate.StatusCode);

        var csv = await _http.GetAsync($"/api/reports/{date}/csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("date,scope,team_id,team_name,kpi,", lines[0]);
        Assert.Contains(lines, l => l.StartsWith($"{date},team,{_p}-t,Reports team,vacancy,", StringComparison.Ordinal));

        var history = await Json(await _http.GetAsync($"/api/reports/kpis/vacancy/history?teamId={_p}-t"));
        var point = Assert.Single(history.GetProperty("points").EnumerateArray());
        Assert.Equal(date, point.GetProperty("date").GetString());
    }

    [Fact]
    public async Task A_practice_manager_reads_her_teams_report_with_the_lists_behind_it_and_not_another_teams()
    {
        var team = $"{_p}-pm";
        await Put($"/api/teams/{team}", new { name = "Team report" });
        await Put($"/api/teams/{_p}-other", new { name = "Not hers" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var months = Enumerable.Range(1, 3).Select(i => new DateOnly(today.Year, today.Month, 1).AddMonths(-i).AddDays(4).ToString("yyyy-MM-dd")).ToArray();
        // w1 supervised in each of the last three months; w2 never.
        await Put($"/api/workers/{_p}-w1", new { name = "W1", teamId = team, role = "SocialWorker", fte = 1.0, supervisions = months });
        await Put($"/api/workers/{_p}-w2", new { name = "W2", teamId = team, role = "SocialWorker", fte = 1.0 });
        // A child assessed and closed: the report still counts its assessment, from the team's closed cases.
        (await _http.PostAsJsonAsync($"/api/children/{_p}-k/refer", new { requestId = $"{_p}-k1", teamId = team })).EnsureSuccessStatusCode();
        (await _http.PostAsJsonAsync($"/api/children/{_p}-k/allocate", new { requestId = $"{_p}-k2", workerId = $"{_p}-w1" })).EnsureSuccessStatusCode();
        (await _http.PutAsJsonAsync($"/api/children/{_p}-k/case-record", new
        {
            requestId = $"{_p}-k3",
            record = new { assessmentStartedOn = today.AddDays(-3).ToString("yyyy-MM-dd"), assessmentCompletedOn = today.ToString("yyyy-MM-dd"), childSeen = true, childSeenAlone = false },
        })).EnsureSuccessStatusCode();
        (await _http.PostAsJsonAsync($"/api/children/{_p}-k/close", new { requestId = $"{_p}-k4", reason = "No further action" })).EnsureSuccessStatusCode();
        var run = await Json(await _http.PostAsync("/api/reports/run", null));
        await WaitForLatest(run.GetProperty("jobId").GetString()!, team);
        using var manager = factory.CreateClientAs(TestUsers.Manager($"{_p}-pm-user", team));

        var report = await Json(await manager.GetAsync($"/api/teams/{team}/report"));
        var kpis = report.GetProperty("kpis").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
        Assert.Equal(50m, kpis["staffSupervisedThreeMonths"].GetProperty("value").GetDecimal());          // w1 of w1, w2
        Assert.Equal(100m, kpis["assessmentsIn45WorkingDays"].GetProperty("value").GetDecimal());         // the closed child's
        Assert.Equal(0m, kpis["childrenSeenAloneInAssessment"].GetProperty("value").GetDecimal());
        var behind = await Json(await manager.GetAsync($"/api/teams/{team}/report/kpis/staffSupervisedThreeMonths/behind"));
        var worker = Assert.Single(behind.GetProperty("items").EnumerateArray());
        Assert.Equal(($"{_p}-w2", $"/caseload.html?worker={_p}-w2"), (worker.GetProperty("id").GetString(), worker.GetProperty("link").GetString()));
        var seenAlone = await Json(await manager.GetAsync($"/api/teams/{team}/report/kpis/childrenSeenAloneInAssessment/behind"));
        Assert.Equal($"/child.html?child={_p}-k", Assert.Single(seenAlone.GetProperty("items").EnumerateArray()).GetProperty("link").GetString());
        var history = await Json(await manager.GetAsync($"/api/teams/{team}/report/kpis/staffSupervisedThreeMonths/history"));
        Assert.Equal(50m, Assert.Single(history.GetProperty("points").EnumerateArray()).GetProperty("value").GetDecimal());
        var catalog = await Json(await manager.GetAsync("/api/kpis"));
        Assert.Contains(catalog.EnumerateArray(), k => k.GetProperty("source").GetString() == "KPI 2"
            && k.GetProperty("definition").GetString()!.Contains("% of worker caseloads of 18 or less", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync($"/api/teams/{_p}-other/report")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync($"/api/teams/{_p}-other/report/kpis/vacancy/behind")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync($"/api/reports/latest")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/teams/{team}/report/kpis/no-such-kpi/behind")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/teams/{_p}-nowhere/report")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await manager.GetAsync($"/api/teams/{team}/report?date=yesterday")).StatusCode);
    }

    [Fact]
    public async Task A_case_record_is_replaced_through_the_api_and_checked()
    {
        await Put($"/api/teams/{_p}-t2", new { name = "Case records" });
        var refer = await _http.PostAsJsonAsync($"/api/children/{_p}-c/refer", new { requestId = $"{_p}-r1", teamId = $"{_p}-t2" });
        refer.EnsureSuccessStatusCode();
        var body = new
        {
            requestId = $"{_p}-r2",
            record = new { plan = "ChildProtection", planStartedOn = "2026-01-05", visitDueOn = "2026-03-01", visitDoneOn = "2026-02-27", lastSupervisionOn = "2026-02-20" },
        };

        var first = await Json(await _http.PutAsJsonAsync($"/api/children/{_p}-c/case-record", body));
        var again = await Json(await _http.PutAsJsonAsync($"/api/children/{_p}-c/case-record", body));

        Assert.Equal("ChildProtection", first.GetProperty("child").GetProperty("caseRecord").GetProperty("plan").GetString());
        Assert.True(again.GetProperty("replayed").GetBoolean());
        var child = await Json(await _http.GetAsync($"/api/children/{_p}-c"));
        Assert.Equal("2026-02-27", child.GetProperty("caseRecord").GetProperty("visitDoneOn").GetString());

        var backwards = await _http.PutAsJsonAsync($"/api/children/{_p}-c/case-record",
            new { requestId = $"{_p}-r3", record = new { assessmentStartedOn = "2026-03-01", assessmentCompletedOn = "2026-02-01" } });
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
        var unknown = await _http.PutAsJsonAsync($"/api/children/{_p}-nobody/case-record", new { requestId = $"{_p}-r4", record = new { } });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var noTeam = await _http.PutAsJsonAsync($"/api/teams/{_p}-nowhere/establishment", new { establishmentFte = 3.0 });
        Assert.Equal(HttpStatusCode.NotFound, noTeam.StatusCode);
    }

    [Fact]
    public async Task The_hangfire_dashboard_is_for_administrators_only()
    {
        using var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;
        using var leader = factory.CreateClientAs(TestUsers.Leader);
        using var administrator = factory.CreateClientAs(TestUsers.Administrator);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await leader.GetAsync("/hangfire")).StatusCode);
        var page = await administrator.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Allocation jobs", await page.Content.ReadAsStringAsync());

        // A browser navigating to the dashboard sends the cookie the sign-in page set for that path.
        using var withCookie = factory.CreateClient();
        withCookie.DefaultRequestHeaders.Authorization = null;
        withCookie.DefaultRequestHeaders.Add("Cookie", "allocation_access_token=" + factory.Token(TestUsers.Administrator));
        Assert.Equal(HttpStatusCode.OK, (await withCookie.GetAsync("/hangfire")).StatusCode);
        // The cookie is read for the dashboard alone, never for the API.
        Assert.Equal(HttpStatusCode.Unauthorized, (await withCookie.GetAsync("/api/reports/dates")).StatusCode);
    }

    private async Task Put(string url, object body) => (await _http.PutAsJsonAsync(url, body)).EnsureSuccessStatusCode();

    private async Task<JsonElement> WaitForLatest(string jobId, string? withTeam = null)
    {
        var giveUp = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await _http.GetAsync("/api/reports/latest");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var report = await Json(response);
                if (withTeam is null || report.GetProperty("teams").EnumerateArray().Any(t => t.GetProperty("teamId").GetString() == withTeam))
                {
                    return report;
                }
            }

            if (DateTimeOffset.UtcNow >= giveUp)
            {
                var job = factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().JobDetails(jobId);
                Assert.Fail($"no report 60 s after run now; job {jobId}: " +
                    string.Join("; ", job?.History.Select(h => $"{h.StateName} {h.Reason} {string.Join(",", h.Data.Select(d => $"{d.Key}={d.Value}"))}") ?? ["not found"]));
            }

            await Task.Delay(200);
        }
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
