using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Service.Hosting;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>Per-user limits: a user over their command or import limit gets 429 with Retry-After; others do not.</summary>
public sealed class RateLimitTests : IClassFixture<RateLimitTests.LowLimits>
{
    private readonly LowLimits _factory;

    public RateLimitTests(LowLimits factory) => _factory = factory;

    [Fact]
    public async Task Commands_over_the_users_limit_get_429_with_retry_after_and_change_nothing()
    {
        using var manager = _factory.CreateClientAs(TestUsers.Manager("U-RL-PM", "T-RL"));
        using var other = _factory.CreateClientAs(TestUsers.Superuser);
        for (var i = 0; i < 3; i++)
        {
            // A command refused by its rules (an unknown team) still counts: the limit is on what a user sends.
            Assert.NotEqual(HttpStatusCode.TooManyRequests, (await Refer(manager, $"RL-C{i}")).StatusCode);
        }

        using var refused = await Refer(manager, "RL-CX");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var seconds = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")));
        Assert.InRange(seconds, 1, 3600);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal(RateLimits.Rule, problem.GetProperty("rule").GetString());
        Assert.Equal(seconds, problem.GetProperty("retryAfterSeconds").GetInt32());

        // Reads are not limited, and another user has a limit of their own.
        Assert.Equal(HttpStatusCode.OK, (await manager.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.PutAsJsonAsync("/api/teams/T-RL", new { name = "Rate limits" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync("/api/children/RL-CX")).StatusCode);
    }

    private static Task<HttpResponseMessage> Refer(HttpClient client, string childId) =>
        client.PostAsJsonAsync($"/api/children/{childId}/refer", new { requestId = $"rl-{childId}", teamId = "T-RL" });

    [Fact]
    public async Task A_second_import_within_the_window_gets_429()
    {
        using var admin = _factory.CreateClientAs(TestUsers.Administrator);
        using var first = await admin.PostAsync("/api/import", new MultipartFormDataContent());
        Assert.NotEqual(HttpStatusCode.TooManyRequests, first.StatusCode);
        using var second = await admin.PostAsync("/api/import", new MultipartFormDataContent());
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.True(second.Headers.RetryAfter is not null);
    }

    public sealed class LowLimits() : AppFactory(new Dictionary<string, string?>
    {
        ["RateLimits:Commands:PermitLimit"] = "3",
        ["RateLimits:Commands:Period"] = "00:10:00",
        ["RateLimits:Import:PermitLimit"] = "1",
    });
}
