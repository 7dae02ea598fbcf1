using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Service.Security;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace Allocation.Tests.Security;

public sealed class IdentityTests
{
    [Fact]
    public void Production_without_an_identity_provider_refuses_to_start_and_names_the_settings()
    {
        using var factory = new ProductionFactory(new() { ["ConnectionStrings:Allocation"] = "Host=127.0.0.1;Port=1;Database=none" });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();
        Assert.Contains("Identity__Authority", error);
        Assert.Contains("demo sign-in exists only in the Development environment", error);
    }

    [Fact]
    public async Task The_demo_sign_in_lists_seeded_users_and_its_token_works_with_mapped_claim_names()
    {
        // The provider's claim names and role values are configuration; the demo signs with the same names.
        await using var factory = new SettingsFactory(new()
        {
            ["Identity:Claims:Role"] = "groups",
            ["Identity:Claims:Team"] = "csc_teams",
            ["Identity:RoleValues:PracticeManager"] = "csc-practice-managers",
        });
        using var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;

        var users = await anonymous.GetFromJsonAsync<JsonElement>("/api/demo/users");
        Assert.Contains(users.EnumerateArray(), u => u.GetProperty("id").GetString() == "U-HOS");
        var manager = users.EnumerateArray().Single(u => u.GetProperty("id").GetString() == "U-PM-ASSESS");
        Assert.Equal(["T-ASSESS-N", "T-ASSESS-S"], manager.GetProperty("teams").EnumerateArray().Select(t => t.GetString()));

        var signIn = await anonymous.PostAsJsonAsync("/api/demo/sign-in", new { userId = "U-PM-ASSESS" });
        var token = (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        var payload = System.Text.Encoding.UTF8.GetString(Base64Url(token.Split('.')[1]));
        Assert.Contains("\"groups\":[\"csc-practice-managers\"]", payload);

        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var me = await anonymous.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal(["PracticeManager"], me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(2, me.GetProperty("teams").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.PostAsJsonAsync("/api/demo/sign-in", new { userId = "nobody" })).StatusCode);
    }

    [Fact]
    public async Task A_token_from_another_key_or_none_at_all_is_401_with_problem_details()
    {
        await using var factory = new AppFactory();
        await using var other = new AppFactory();
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", other.Token(TestUsers.Leader));

        var forged = await http.GetAsync("/api/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        http.DefaultRequestHeaders.Authorization = null;
        var none = await http.GetAsync("/api/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("not-signed-in", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rule").GetString());
    }

    [Fact]
    public async Task The_hub_token_in_the_query_string_is_not_written_to_the_logs()
    {
        var logs = new CapturingLoggerProvider();
        // Every request line logged, as an engineer chasing a problem might set it: a level for one provider, which
        // outranks any general rule (such as a cap on the hosting log set in code).
        await using var factory = new LoggingAppFactory(logs, new() { ["Logging:Capture:LogLevel:Default"] = "Debug" });
        var token = factory.Token(TestUsers.Leader);
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = null;

        // What a browser's SignalR client sends: the token in the query string, as WebSockets cannot carry a header.
        var negotiate = await http.PostAsync($"/hubs/boards/negotiate?negotiateVersion=1&access_token={token}", null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        // The query string is read for the hub alone.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"/api/overview?access_token={token}")).StatusCode);

        Assert.Contains(logs.Messages, m => m.Contains("Request starting", StringComparison.Ordinal) && m.Contains("/hubs/boards/negotiate", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(token[^40..], StringComparison.Ordinal));
    }

    private static byte[] Base64Url(string s) => Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/').PadRight(s.Length + ((4 - s.Length % 4) % 4), '='));

    private sealed class SettingsFactory(Dictionary<string, string?> settings) : AppFactory(settings);

    private sealed class ProductionFactory(Dictionary<string, string?> settings) : AppFactory(settings)
    {
        protected override string Environment => "Production";
    }
}
