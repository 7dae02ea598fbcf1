using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>HSTS outside Development. ASP.NET Core sends it only over HTTPS and never to a loopback host name, so the
/// requests go to the service as the authority's browsers reach it: https, by its public name.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HstsTests(PostgresServer postgres)
{
    private static readonly Uri PublicAddress = new("https://allocation.example.gov.uk/");

    [PostgresFact]
    public async Task Production_tells_browsers_to_use_https_only_and_development_does_not()
    {
        var database = await postgres.CreateDatabaseAsync("hsts");
        await using (var production = new ProductionFactory(database))
        {
            using var https = production.CreateClient(new() { BaseAddress = PublicAddress });
            foreach (var path in new[] { "/", "/team.html", "/health/live" })
            {
                using var response = await https.GetAsync(path);
                Assert.True(response.Headers.TryGetValues("Strict-Transport-Security", out var hsts), $"{path}: no Strict-Transport-Security");
                var maxAge = Assert.Single(hsts).Split(';')[0];
                Assert.StartsWith("max-age=", maxAge, StringComparison.Ordinal);
                Assert.True(int.Parse(maxAge["max-age=".Length..], System.Globalization.CultureInfo.InvariantCulture) >= 30 * 24 * 3600, $"{path}: {maxAge}");
            }
        }

        // The demo (Development) runs on the developer's own machine: no HSTS to pin a name to https there.
        await using var development = new AppFactory();
        using var demo = development.CreateClient(new() { BaseAddress = PublicAddress });
        using var page = await demo.GetAsync("/");
        Assert.False(page.Headers.Contains("Strict-Transport-Security"));
    }

    private sealed class ProductionFactory(string database) : AppFactory(new Dictionary<string, string?>
    {
        ["ConnectionStrings:Allocation"] = database,
        ["Identity:Authority"] = "https://idp.example.invalid/realms/authority",
        ["Identity:Audience"] = "allocation",
    })
    {
        protected override string Environment => "Production";
    }
}
