using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace Allocation.Tests.Infrastructure;

/// <summary>The service with its co-hosted silo, in memory, on ports of its own. Demo seeding is off unless asked for;
/// a setting given as null is left unset.</summary>
public class AppFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public AppFactory() : this(new Dictionary<string, string?>())
    {
    }

    protected AppFactory(Dictionary<string, string?> settings)
    {
        _settings = new Dictionary<string, string?>
        {
            ["Orleans:SiloPort"] = FreePorts.Next().ToString(),
            ["Orleans:ClusterId"] = "test-" + Guid.NewGuid().ToString("N")[..8],
            ["Seeding:Demo"] = "false",
            // Tests send many commands as one user in seconds; the limiter's own test sets low limits.
            ["RateLimits:Commands:PermitLimit"] = "1000000",
            ["RateLimits:Import:PermitLimit"] = "1000000",
            // Tests sign their users with the demo's key whatever the store; the refusal itself is tested with this unset.
            [Allocation.Service.Security.DemoSignIn.AllowOnPostgreSQLSetting] = "true",
        };
        // A null value unsets one of these defaults.
        foreach (var (key, value) in settings)
        {
            if (value is null)
            {
                _settings.Remove(key);
            }
            else
            {
                _settings[key] = value;
            }
        }
    }

    protected virtual string Environment => "Development";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        // Host configuration: read while Program builds, before the silo is configured.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(_settings));
    }

    /// <summary>Clients sign in as <see cref="TestUsers.Superuser"/> unless a test asks for someone else
    /// (<see cref="TestUsers.CreateClientAs"/>).</summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        if (Services.GetService<Allocation.Service.Security.DemoTokens>() is null)
        {
            return; // a host with a real identity provider: the test brings its own token, if any
        }

        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", this.Token(TestUsers.Superuser));
    }
}

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<AppFactory>
{
    public const string Name = "app";
}
