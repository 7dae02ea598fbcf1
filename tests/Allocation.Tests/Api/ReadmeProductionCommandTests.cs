using System.Net;
using System.Net.Http.Json;
using Allocation.Tests.Infrastructure;
using Npgsql;

namespace Allocation.Tests.Api;

/// <summary>
/// README's "Running on PostgreSQL" command, run as a reader would paste it: <c>dotnet run --project
/// src/Allocation.Service</c> with its variables, as a real process. It must start Production or refuse naming what is
/// missing; never the demo.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ReadmeProductionCommandTests(PostgresServer postgres)
{
    private static readonly TimeSpan _startTimeout = TimeSpan.FromMinutes(3);

    [PostgresFact]
    public async Task The_readmes_production_command_starts_Production_without_the_demo_and_seeds_nothing()
    {
        var database = await postgres.CreateDatabaseAsync("readme");
        var url = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var environment = ReadmeEnvironment(database);
        // Ports of its own beside the other tests; the address also shows the reader's ASPNETCORE_URLS beats the profile's.
        environment["ASPNETCORE_URLS"] = url.ToString();
        environment["Orleans__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Orleans__ClusterId"] = "readme-" + Guid.NewGuid().ToString("N")[..8];

        await using var service = ServiceProcess.DotnetRun(environment);
        using var http = new HttpClient { BaseAddress = url };
        await service.WaitUntilReadyAsync(http, _startTimeout);

        Assert.Contains("Hosting environment: Production", service.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/demo/users")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/api/demo/sign-in", new { userId = "U-HOS" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/teams")).StatusCode);
        // The only grain state a fresh start writes is the list of live board hosts: no teams, workers or children.
        Assert.Equal(0L, await ScalarAsync(database, "select count(*) from allocation_grain_state where grain_id not like 'boardhosts/%'"));
        Assert.Equal(0L, await ScalarAsync(database, "select count(*) from orleansstorage"));
    }

    [Fact]
    public async Task The_readmes_production_command_without_the_identity_provider_refuses_and_names_the_setting()
    {
        var environment = ReadmeEnvironment("Host=127.0.0.1;Port=1;Database=none");
        environment.Remove("Identity__Authority");

        await using var service = ServiceProcess.DotnetRun(environment);

        Assert.NotEqual(0, await service.ExitCodeAsync(_startTimeout));
        Assert.Contains("set Identity__Authority", service.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_built_service_with_no_environment_set_is_Production_and_refuses_without_a_connection_string()
    {
        // As a service unit runs the published service: no launch profile, so the demo's default does not apply.
        await using var service = ServiceProcess.Built(new Dictionary<string, string>());

        Assert.NotEqual(0, await service.ExitCodeAsync(_startTimeout));
        Assert.Contains("set ConnectionStrings__Allocation (environment 'Production')", service.Output, StringComparison.Ordinal);
    }

    /// <summary>The variables README's production command sets, with the test's database and a stand-in provider
    /// (never called: nothing here signs in). Checked against README itself, so the two cannot drift apart.</summary>
    private static Dictionary<string, string> ReadmeEnvironment(string database)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Allocation"] = database,
            ["Identity__Authority"] = "https://idp.example.invalid/realms/children",
            ["Identity__Audience"] = "allocation-api",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var command = ReadmeCommand();
        Assert.All(environment.Keys, name => Assert.Contains(name + "=", command, StringComparison.Ordinal));
        Assert.Contains("ASPNETCORE_ENVIRONMENT=Production dotnet run --project src/Allocation.Service", command, StringComparison.Ordinal);
        return environment;
    }

    /// <summary>The first shell block of README's "Running on PostgreSQL" section.</summary>
    private static string ReadmeCommand()
    {
        var readme = File.ReadAllText(Path.Combine(ServiceProcess.RepositoryRoot, "README.md"));
        var section = readme[readme.IndexOf("\n## Running on PostgreSQL", StringComparison.Ordinal)..];
        var start = section.IndexOf("```bash", StringComparison.Ordinal);
        return section[start..section.IndexOf("```", start + 3, StringComparison.Ordinal)];
    }

    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
