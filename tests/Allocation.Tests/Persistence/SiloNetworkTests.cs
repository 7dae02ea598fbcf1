using System.Net;
using System.Net.Http.Json;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Allocation.Tests.Persistence;

/// <summary>The silo is reachable by the service's own code alone: no gateway, and silo-to-silo only under mutual TLS.</summary>
[Collection("postgres")]
public class SiloNetworkTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task An_orleans_client_from_outside_the_host_cannot_connect()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clusterId = "net-" + Guid.NewGuid().ToString("N")[..8];
        var siloPort = FreePorts.Next();
        await using var host = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24),
            new Dictionary<string, string?> { ["Orleans:SiloPort"] = siloPort.ToString() });
        using var http = host.CreateClient();
        (await http.PutAsJsonAsync("/api/teams/t1", new { name = "Network" })).EnsureSuccessStatusCode();

        // As any client of the cluster finds its gateways: from the membership table.
        await AssertCannotConnect(clusterId, c => c.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = database;
        }));
        // Straight at the silo's own port, without the cluster's certificate.
        await AssertCannotConnect(clusterId, c => c.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, siloPort)));
    }

    private static async Task AssertCannotConnect(string clusterId, Action<IClientBuilder> clustering)
    {
        using var client = new HostBuilder().UseOrleansClient(c =>
        {
            clustering(c);
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "allocation"));
            c.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
        }).Build();

        // Refused, or left waiting for a gateway that never answers: either way, not connected.
        var error = await Record.ExceptionAsync(() => client.StartAsync().WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.NotNull(error);
    }
}
