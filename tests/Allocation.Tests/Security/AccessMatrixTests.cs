using System.Net;
using System.Net.Http.Json;
using System.Text;
using Allocation.Service.Security;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Xunit.Abstractions;

namespace Allocation.Tests.Security;

/// <summary>
/// Every endpoint the app maps, read from its endpoint metadata, against every role: the roles the table below allows
/// get past authorization on their own team's, worker's and child's ids; every other role gets 403 and no token gets 401.
/// An endpoint missing from the table, or mapped without a policy, fails the test.
/// </summary>
public sealed class AccessMatrixTests(ITestOutputHelper output) : IClassFixture<AppFactory>
{
    private const string Team = "mx-team";
    private const string Worker = "mx-worker";
    private const string Child = "mx-child";

    private static readonly UserRole[] All = Enum.GetValues<UserRole>();
    private static readonly UserRole[] Caseloads = [UserRole.SocialWorker, UserRole.PracticeManager, UserRole.SeniorLeader];
    private static readonly UserRole[] TeamManagement = [UserRole.PracticeManager, UserRole.SeniorLeader];
    private static readonly UserRole[] StaffManagement = [UserRole.PracticeManager, UserRole.SeniorLeader, UserRole.Administrator];
    private static readonly UserRole[] LeadersOrAdmins = [UserRole.SeniorLeader, UserRole.Administrator];
    private static readonly UserRole[] Leaders = [UserRole.SeniorLeader];
    private static readonly UserRole[] Admins = [UserRole.Administrator];

    /// <summary>Who may call what. Null: open to anyone (health probes, the API description, the demo sign-in).</summary>
    private static readonly Dictionary<string, UserRole[]?> Expected = new()
    {
        ["* /health"] = null,
        ["* /health/live"] = null,
        ["* /health/ready"] = null,
        ["GET /openapi/{documentName}.json"] = null,
        ["GET /api-docs/{documentName?}"] = null,
        ["GET /api-docs/scalar.js"] = null,
        ["GET /api-docs/scalar.aspnetcore.js"] = null,
        ["GET /api-docs/favicon.svg"] = null,
        ["GET /api/demo/users"] = null,
        ["POST /api/demo/sign-in"] = null,
        ["GET /api/me"] = All,
        ["GET /api/teams"] = All,
        ["PUT /api/teams/{teamId}"] = Admins,
        ["GET /api/teams/{teamId}/board"] = TeamManagement,
        ["PUT /api/teams/{teamId}/establishment"] = Admins,
        ["GET /api/overview"] = Leaders,
        ["GET /api/forecast"] = Leaders,
        ["GET /api/teams/{teamId}/forecast"] = TeamManagement,
        ["PUT /api/workers/{workerId}"] = Admins,
        ["GET /api/workers/{workerId}"] = All,
        ["POST /api/workers/{workerId}/absences"] = StaffManagement,
        ["POST /api/workers/{workerId}/leave"] = StaffManagement,
        ["GET /api/children/{childId}"] = Caseloads,
        ["POST /api/children/{childId}/refer"] = TeamManagement,
        ["POST /api/children/{childId}/allocate"] = TeamManagement,
        ["POST /api/children/{childId}/allocate/preview"] = TeamManagement,
        ["GET /api/children/{childId}/recommendations"] = TeamManagement,
        ["POST /api/children/{childId}/reallocate"] = TeamManagement,
        ["POST /api/children/{childId}/transfer"] = TeamManagement,
        ["POST /api/children/{childId}/close"] = TeamManagement,
        ["PUT /api/children/{childId}/case-record"] = Caseloads,
        ["GET /api/children/{childId}/chronology"] = Caseloads,
        ["GET /api/children/{childId}/allocation-history"] = Caseloads,
        ["GET /api/audit"] = Caseloads,
        ["GET /api/audit/csv"] = Caseloads,
        ["GET /api/reports/latest"] = LeadersOrAdmins,
        ["GET /api/reports/latest/csv"] = LeadersOrAdmins,
        ["GET /api/reports/{date}"] = LeadersOrAdmins,
        ["GET /api/reports/{date}/csv"] = LeadersOrAdmins,
        ["GET /api/reports/dates"] = LeadersOrAdmins,
        ["GET /api/reports/kpis"] = LeadersOrAdmins,
        ["GET /api/reports/kpis/{kpiId}/history"] = LeadersOrAdmins,
        ["POST /api/reports/run"] = LeadersOrAdmins,
        ["GET /api/reports/{date}/kpis/{kpiId}/behind"] = LeadersOrAdmins,
        ["GET /api/kpis"] = All,
        ["GET /api/teams/{teamId}/report"] = TeamManagement,
        ["GET /api/teams/{teamId}/report/kpis/{kpiId}/history"] = TeamManagement,
        ["GET /api/teams/{teamId}/report/kpis/{kpiId}/behind"] = TeamManagement,
        ["POST /api/import"] = Admins,
        ["GET /api/import/progress"] = Admins,
        ["GET /api/export/{file}"] = Admins,
        ["* /hubs/boards/negotiate"] = All,
        ["* /hubs/boards"] = All,
        ["* /hangfire/{**path}"] = Admins,
        ["* /metrics"] = Admins,
        ["GET /auth/sign-in"] = null,
        ["POST /auth/sign-out"] = null,
        // The Orleans dashboard: its page, assets and data, all behind the administrators' policy.
        ["GET /dashboard/"] = Admins,
        ["GET /dashboard/index.html"] = Admins,
        ["GET /dashboard/favicon.ico"] = Admins,
        ["GET /dashboard/index.min.js"] = Admins,
        ["GET /dashboard/index.css"] = Admins,
        ["GET /dashboard/fonts/{**path}"] = Admins,
        ["GET /dashboard/img/{**path}"] = Admins,
        ["GET /dashboard/version"] = Admins,
        ["GET /dashboard/DashboardCounters"] = Admins,
        ["GET /dashboard/ClusterStats"] = Admins,
        ["GET /dashboard/Reminders"] = Admins,
        ["GET /dashboard/Reminders/{page:int}"] = Admins,
        ["GET /dashboard/HistoricalStats/{*path}"] = Admins,
        ["GET /dashboard/SiloProperties/{*address}"] = Admins,
        ["GET /dashboard/SiloMetadata/{*address}"] = Admins,
        ["GET /dashboard/SiloStats/{*address}"] = Admins,
        ["GET /dashboard/SiloCounters/{*address}"] = Admins,
        ["GET /dashboard/GrainStats/{*grainName}"] = Admins,
        ["GET /dashboard/TopGrainMethods"] = Admins,
        ["GET /dashboard/GrainState"] = Admins,
        ["GET /dashboard/LifecycleStages"] = Admins,
        ["GET /dashboard/GrainTypes"] = Admins,
        ["GET /dashboard/Trace"] = Admins,
    };

    private readonly AppFactory _factory = new();

    [Fact]
    public async Task Every_endpoint_has_a_policy_and_each_role_gets_exactly_what_the_table_allows()
    {
        await SeedAsync();
        var endpoints = _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (Key: $"{m} /{e.RoutePattern.RawText!.TrimStart('/')}", Endpoint: e)))
            .ToList();
        output.WriteLine($"{endpoints.Count} endpoints");

        var unknown = endpoints.Select(e => e.Key).Where(k => !Expected.ContainsKey(k)).ToList();
        Assert.True(unknown.Count == 0, "Endpoints missing from the access table (decide who may call them): " + string.Join(", ", unknown));
        var missing = Expected.Keys.Except(endpoints.Select(e => e.Key)).ToList();
        Assert.True(missing.Count == 0, "Table rows with no endpoint: " + string.Join(", ", missing));

        var failures = new List<string>();
        foreach (var (key, endpoint) in endpoints)
        {
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policy = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().LastOrDefault()?.Policy;
            var allowed = Expected[key];
            if (allowed is null)
            {
                if (!anonymous)
                {
                    failures.Add($"{key}: expected to be open, but requires authorization");
                }

                continue;
            }

            if (anonymous || policy is null || !Policies.Roles.TryGetValue(policy, out var roles))
            {
                failures.Add($"{key}: no named policy (anonymous={anonymous}, policy={policy ?? "none"})");
                continue;
            }

            if (!roles.Order().SequenceEqual(allowed.Order()))
            {
                failures.Add($"{key}: policy {policy} allows {string.Join(",", roles)}; the table says {string.Join(",", allowed)}");
            }

            var (method, url) = Request(key);
            var none = await SendAsync(null, method, url);
            if (none != HttpStatusCode.Unauthorized)
            {
                failures.Add($"{key}: no token got {(int)none}, expected 401");
            }

            foreach (var role in All)
            {
                var status = await SendAsync(role, method, url);
                var refused = status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                output.WriteLine($"{key,-48} {role,-16} {(int)status}");
                // The dashboard's live log stream is switched off: past the policy it refuses everyone itself.
                if (allowed.Contains(role) == refused && !(key == "GET /dashboard/Trace" && status == HttpStatusCode.Forbidden))
                {
                    failures.Add($"{key}: {role} got {(int)status}, expected {(allowed.Contains(role) ? "to get through" : "403")}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A team, a worker on it and a child allocated to that worker: each role's own ids.</summary>
    private async Task SeedAsync()
    {
        using var http = _factory.CreateClient();
        (await http.PutAsJsonAsync($"/api/teams/{Team}", new { name = "Matrix" })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/api/workers/{Worker}", new { name = "Matrix worker", teamId = Team, role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/api/children/{Child}/refer", new { requestId = "mx-1", teamId = Team })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/api/children/{Child}/allocate", new { requestId = "mx-2", workerId = Worker })).EnsureSuccessStatusCode();
    }

    private static (HttpMethod Method, string Url) Request(string key)
    {
        var (method, pattern) = (key[..key.IndexOf(' ')], key[(key.IndexOf(' ') + 1)..]);
        var url = pattern
            .Replace("{teamId}", Team).Replace("{workerId}", Worker).Replace("{childId}", Child)
            .Replace("{date}", "2026-01-05").Replace("{kpiId}", "caseloads-at-or-under-ceiling").Replace("{file}", "teams.csv")
            .Replace("/{**path}", "").Replace("{page:int}", "1");
        url = System.Text.RegularExpressions.Regex.Replace(url, @"\{\*+\w+\}", "x");
        // Only leaders read the whole trail; the others ask about their own child.
        url += pattern.StartsWith("/api/audit", StringComparison.Ordinal) ? $"?childId={Child}" : "";
        return (method == "*" ? (url.EndsWith("/negotiate", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get) : new HttpMethod(method), url);
    }

    private async Task<HttpStatusCode> SendAsync(UserRole? role, HttpMethod method, string url)
    {
        using var http = _factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = role is { } r
            ? new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _factory.Token(TestUsers.Of(r, Team, Worker)))
            : null;
        using var request = new HttpRequestMessage(method, url);
        if (method != HttpMethod.Get)
        {
            // Past authorization an empty command is malformed (400): enough to tell "let through" from "refused". The
            // import takes a form: anything else is 415 before authorization, from routing.
            request.Content = url == "/api/import"
                ? new MultipartFormDataContent { { new StringContent(""), "none" } }
                : new StringContent("{}", Encoding.UTF8, "application/json");
        }

        // Headers only: some dashboard endpoints stream.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }
}
