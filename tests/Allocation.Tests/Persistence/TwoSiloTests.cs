using System.Net.Http.Json;
using System.Threading.Channels;
using Allocation.Grains.Boards;
using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Allocation.Tests.Persistence;

/// <summary>Two service hosts, each with its own silo, clustered through one PostgreSQL database.</summary>
[Collection("postgres")]
public class TwoSiloTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task Allocations_through_either_host_reach_boards_on_both_and_one_host_stopping_leaves_the_other_working()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clusterId = "two-" + Guid.NewGuid().ToString("N")[..8];
        // Silo to silo is mutual TLS: both hosts are given the one certificate, as a deployment gives each node.
        var certificate = Path.Combine(Path.GetTempPath(), clusterId + ".pfx");
        await File.WriteAllBytesAsync(certificate, Allocation.Service.Hosting.SiloTls.MakeOwn().Export(
            System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "test-password"));
        var tls = new Dictionary<string, string?> { ["Orleans:Tls:CertificatePath"] = certificate, ["Orleans:Tls:CertificatePassword"] = "test-password" };
        await using var a = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24), tls);
        var httpA = a.CreateClient();
        await using var b = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24), tls);
        var httpB = b.CreateClient();
        await WaitForTwoSilos(a);

        (await httpA.PutAsJsonAsync("/api/teams/t1", new { name = "Assessment" })).EnsureSuccessStatusCode();
        (await httpA.PutAsJsonAsync("/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        var (hubA, deltasA) = await Subscribe(a, "t1");
        var (hubB, deltasB) = await Subscribe(b, "t1");
        await UntilBothReceive(httpA, deltasA, deltasB);

        // Commands through either host change the same grains; boards on both hosts see each change.
        await Command(httpA, "/api/children/c1/refer", new { requestId = "r1", teamId = "t1" });
        await Command(httpB, "/api/children/c1/allocate", new { requestId = "r2", workerId = "w1" });
        await Command(httpB, "/api/children/c2/refer", new { requestId = "r3", teamId = "t1" });
        foreach (var deltas in new[] { deltasA, deltasB })
        {
            var versions = new List<long>();
            for (var i = 0; i < 3; i++)
            {
                versions.Add((await Next(deltas)).Version);
            }

            Assert.Equal(Enumerable.Range(0, 3).Select(i => versions[0] + i), versions);
        }

        await hubA.DisposeAsync();
        await a.DisposeAsync();

        // The surviving host carries on: the grains that lived on the stopped silo are activated again here.
        await Command(httpB, "/api/children/c2/allocate", new { requestId = "r4", workerId = "w1" }, attempts: 20);
        var delta = await Next(deltasB, d => d.Workers.Any(w => w.Caseload == 2));
        Assert.Equal(2, Assert.Single(delta.Workers).Caseload);
        var worker = await httpB.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/workers/w1");
        Assert.Equal(2, worker.GetProperty("caseloadCount").GetInt32());
        await hubB.DisposeAsync();
    }

    /// <summary>
    /// A host's registration made while the other silo was still joining can be lost; it is renewed every refresh
    /// period. Touch the team until a change reaches the boards on both hosts.
    /// </summary>
    private static async Task UntilBothReceive(HttpClient http, Channel<TeamBoardDelta> a, Channel<TeamBoardDelta> b)
    {
        var giveUp = DateTimeOffset.UtcNow + 4 * Allocation.Grains.Boards.BoardHostsGrain.RefreshPeriod;
        for (var i = 0; ; i++)
        {
            (await http.PutAsJsonAsync("/api/teams/t1", new { name = $"Assessment {i}" })).EnsureSuccessStatusCode();
            await Task.Delay(500);
            var received = (a.Reader.Count > 0, b.Reader.Count > 0);
            while (a.Reader.TryRead(out _) | b.Reader.TryRead(out _))
            {
            }

            if (received == (true, true))
            {
                return;
            }

            Assert.True(DateTimeOffset.UtcNow < giveUp, $"boards on both hosts did not receive changes within {4 * Allocation.Grains.Boards.BoardHostsGrain.RefreshPeriod}");
            await Task.Delay(1000);
        }
    }

    private static async Task WaitForTwoSilos(PostgresAppFactory factory)
    {
        var management = factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var giveUp = DateTimeOffset.UtcNow.AddSeconds(30);
        while ((await management.GetHosts(onlyActive: true)).Count < 2)
        {
            Assert.True(DateTimeOffset.UtcNow < giveUp, "the second silo did not join");
            await Task.Delay(200);
        }
    }

    private static async Task<(BoardsClient, Channel<TeamBoardDelta>)> Subscribe(PostgresAppFactory factory, string team)
    {
        var client = await BoardsClient.Connect(factory);
        await client.Hub.InvokeAsync<TeamBoard>("SubscribeTeam", team);
        return (client, client.TeamDeltas);
    }

    private static Task<TeamBoardDelta> Next(Channel<TeamBoardDelta> deltas, Func<TeamBoardDelta, bool>? match = null) =>
        BoardsClient.Next(deltas, match, TimeSpan.FromSeconds(60));

    /// <summary>Right after a silo stops, calls to grains it held can fail until membership catches up: retry.</summary>
    private static async Task Command(HttpClient http, string url, object body, int attempts = 1)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var response = await http.PostAsJsonAsync(url, body);
                if (response.IsSuccessStatusCode || attempt >= attempts)
                {
                    Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    return;
                }
            }
            catch (Exception) when (attempt < attempts)
            {
            }

            await Task.Delay(1000);
        }
    }
}
