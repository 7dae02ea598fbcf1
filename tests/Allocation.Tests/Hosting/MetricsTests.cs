using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Allocation.Service.Hosting;
using Allocation.Tests.Infrastructure;
using Allocation.Tests.Persistence;
using Xunit.Abstractions;

namespace Allocation.Tests.Hosting;

/// <summary>
/// The Prometheus scrape during real allocations on PostgreSQL: the service's instruments move, and only
/// administrators may read them. Meters are process-wide, so a host started by a test running beside this one would
/// feed (and, when disposed, take away) the same instruments: this runs alone.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests(PostgresServer postgres, ITestOutputHelper output)
{
    [PostgresFact]
    public async Task Metrics_move_with_allocations_refusals_breaches_and_storage_and_only_administrators_read_them()
    {
        var database = await postgres.CreateDatabaseAsync("metrics");
        // A short allocation window, so a child left waiting breaches within the test.
        await using var app = new PostgresAppFactory(database, "metrics-" + Guid.NewGuid().ToString("N")[..8], TimeSpan.FromSeconds(3));
        using var admin = app.CreateClientAs(TestUsers.Administrator);
        var before = Parse(await admin.GetStringAsync(Telemetry.MetricsPath));

        using var http = app.CreateClient();
        (await http.PutAsJsonAsync("/api/teams/m1", new { name = "Metrics" })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync("/api/workers/mw1", new { name = "One", teamId = "m1", role = "SocialWorker", fte = 1.0, ceiling = 1 })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/api/children/mc1/refer", new { requestId = "m-r1", teamId = "m1" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/api/children/mc1/allocate", new { requestId = "m-r2", workerId = "mw1" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/api/children/mc2/refer", new { requestId = "m-r3", teamId = "m1" })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsJsonAsync("/api/children/mc2/allocate", new { requestId = "m-r4", workerId = "mw1" })).StatusCode);

        // Pushes follow the commit, and the breach its deadline: wait for them, within reason.
        (string Name, string[] Labels)[] expected =
        [
            ("allocation_allocations_total", []),
            ("allocation_refusals_total", ["action=\"child.allocate\"", "outcome=\"Refused\"", "rule=\"caseload-ceiling\""]),
            ("allocation_board_pushes_total", ["board=\"team\""]),
            ("allocation_board_push_delay_milliseconds_count", []),
            ("allocation_breaches_total", []),
            ("allocation_storage_batch_size_count", ["queue=\"grain-state\""]),
            ("allocation_storage_commit_duration_milliseconds_count", ["queue=\"audit\""]),
            ("allocation_storage_wait_milliseconds_count", ["queue=\"audit\""]),
        ];
        Dictionary<string, double> after = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            after = Parse(await admin.GetStringAsync(Telemetry.MetricsPath));
            if (expected.All(e => Sum(after, e) > Sum(before, e)))
            {
                break;
            }
        }

        foreach (var e in expected)
        {
            output.WriteLine($"{e.Name} {string.Join(",", e.Labels)}: {Sum(before, e)} -> {Sum(after, e)}");
            Assert.True(Sum(after, e) > Sum(before, e), $"{e.Name} {string.Join(",", e.Labels)} did not move: {Sum(before, e)} -> {Sum(after, e)}");
        }

        Assert.True(after.Keys.Any(k => k.StartsWith("allocation_clocks_running", StringComparison.Ordinal)), "allocation_clocks_running is not reported");

        // The heap's live size after a full collection (the service runs in this process, so this one is the service's).
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        await Task.Delay(1000); // past the exporter's cached scrape
        var collected = Parse(await admin.GetStringAsync(Telemetry.MetricsPath));
        var live = Sum(collected, ("allocation_memory_live_after_full_gc_bytes", []));
        output.WriteLine($"live after full collection: {live:N0} bytes; full collections {Sum(before, ("allocation_memory_full_gc_total", []))} -> {Sum(collected, ("allocation_memory_full_gc_total", []))}");
        Assert.InRange(live, 1_000_000, GC.GetTotalMemory(false) + 1_000_000);
        Assert.True(Sum(collected, ("allocation_memory_full_gc_total", [])) > Sum(before, ("allocation_memory_full_gc_total", [])));
        Assert.True(collected.Keys.Any(k => k.StartsWith("dotnet_gc_", StringComparison.Ordinal)), "the runtime's GC instruments are not reported");

        using var anonymous = app.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(Telemetry.MetricsPath)).StatusCode);
        foreach (var user in new[] { TestUsers.Leader, TestUsers.Manager("U-M-PM", "m1"), TestUsers.Worker("mw1") })
        {
            using var client = app.CreateClientAs(user);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync(Telemetry.MetricsPath)).StatusCode);
        }

        // The Orleans dashboard's access is in the access matrix; on PostgreSQL it runs only when asked for (DemoOnPostgreSQLTests).
    }

    /// <summary>Prometheus text: "name{labels} value [timestamp]" per line, comments skipped.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var metrics = new Dictionary<string, double>();
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
        {
            var split = line.Contains('}') ? line.LastIndexOf('}') + 1 : line.IndexOf(' ');
            var value = line[split..].Trim().Split(' ')[0];
            if (split > 0 && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                metrics[line[..split]] = number;
            }
        }

        return metrics;
    }

    /// <summary>The sum over every series of the metric that carries all the labels.</summary>
    private static double Sum(Dictionary<string, double> metrics, (string Name, string[] Labels) metric) => metrics
        .Where(m => (m.Key == metric.Name || m.Key.StartsWith(metric.Name + "{", StringComparison.Ordinal))
            && metric.Labels.All(l => m.Key.Contains(l, StringComparison.Ordinal)))
        .Sum(m => m.Value);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "metrics-alone";
}
