using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Service.Security;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>Development on a PostgreSQL store: no demo data unless asked for, no password-less sign-in unless allowed,
/// and no Orleans dashboard unless asked for.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DemoOnPostgreSQLTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task Development_on_PostgreSQL_starts_empty_and_refuses_the_demo_sign_in_unless_it_is_allowed()
    {
        var database = await postgres.CreateDatabaseAsync("demo_on_pg");
        var logs = new CapturingLoggerProvider();
        await using (var refused = new LoggingAppFactory(logs, Settings(database, allowDemoSignIn: null)))
        {
            using var http = refused.CreateClient();
            var signIn = await http.PostAsJsonAsync("/api/demo/sign-in", new { userId = "U-HOS" });
            Assert.Equal(HttpStatusCode.Forbidden, signIn.StatusCode);
            var problem = await signIn.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(DemoSignIn.RefusedRule, problem.GetProperty("rule").GetString());
            Assert.Contains("DemoSignIn__AllowOnPostgreSQL=true", problem.GetProperty("detail").GetString());
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/api/demo/users")).StatusCode);
            // No key to sign with, so no token of any kind is accepted.
            Assert.Null(refused.Services.GetService<DemoTokens>());
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/teams")).StatusCode);
            // The Orleans dashboard does not run on PostgreSQL unless asked for: nothing is mapped at its path.
            http.DefaultRequestHeaders.Authorization = null;
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dashboard/version")).StatusCode);
        }

        Assert.Contains(logs.Messages, m => m.Contains("Demo seeding is off on PostgreSQL", StringComparison.Ordinal) && m.Contains("Seeding__Demo=true", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("the demo sign-in is refused", StringComparison.Ordinal));

        // Allowed explicitly, as the load tests do: it works, says what it risks on start, and still seeds nothing.
        var allowedLogs = new CapturingLoggerProvider();
        var allowedSettings = Settings(database, allowDemoSignIn: "true");
        allowedSettings["Orleans:Dashboard"] = "true";
        await using var allowed = new LoggingAppFactory(allowedLogs, allowedSettings);
        using var anonymous = allowed.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;
        // Asked for, it runs, for administrators only.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard/version")).StatusCode);
        var answer = await anonymous.PostAsJsonAsync("/api/demo/sign-in", new { userId = "U-HOS" });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        Assert.Equal(0, (await anonymous.GetFromJsonAsync<JsonElement>("/api/teams")).GetArrayLength());
        Assert.Contains(allowedLogs.Messages, m => m.Contains("DemoSignIn__AllowOnPostgreSQL=true", StringComparison.Ordinal)
            && m.Contains("without a password", StringComparison.Ordinal));
    }

    /// <summary>Development on <paramref name="database"/>, with demo seeding left at its default.</summary>
    private static Dictionary<string, string?> Settings(string database, string? allowDemoSignIn) => new()
    {
        ["ConnectionStrings:Allocation"] = database,
        ["Seeding:Demo"] = null,
        [DemoSignIn.AllowOnPostgreSQLSetting] = allowDemoSignIn,
    };
}
