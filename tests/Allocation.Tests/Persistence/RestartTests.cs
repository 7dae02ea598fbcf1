using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using static Allocation.Tests.Infrastructure.ApiCalls;

namespace Allocation.Tests.Persistence;

/// <summary>The service on PostgreSQL, stopped and started again on the same database.</summary>
[Collection("postgres")]
public class RestartTests(PostgresServer postgres)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(8);

    [PostgresFact]
    public async Task Caseloads_history_counts_and_clocks_survive_a_restart_and_a_due_reminder_still_fires()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clusterId = "restart-" + Guid.NewGuid().ToString("N")[..8];
        JsonElement before;
        DateTimeOffset deadline;

        await using (var first = new PostgresAppFactory(database, clusterId, Window))
        {
            var http = first.CreateClient();
            await Send(http, HttpMethod.Put, "/api/teams/t1", new { name = "Assessment" });
            await Send(http, HttpMethod.Put, "/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0 });
            await Send(http, HttpMethod.Put, "/api/workers/w2", new { name = "Two", teamId = "t1", role = "NewlyQualified", fte = 0.5 });
            await Send(http, HttpMethod.Post, "/api/children/c1/refer", new { requestId = "r1", teamId = "t1" });
            await Send(http, HttpMethod.Post, "/api/children/c1/allocate", new { requestId = "r2", workerId = "w1", by = "pm-1" });
            await Send(http, HttpMethod.Post, "/api/children/c1/reallocate", new { requestId = "r3", workerId = "w2", reason = "rebalance", by = "pm-1" });
            before = await Send(http, HttpMethod.Get, "/api/children/c1");
            // c2 waits: its deadline falls after this host has stopped.
            var waiting = await Send(http, HttpMethod.Post, "/api/children/c2/refer", new { requestId = "r4", teamId = "t1" });
            deadline = waiting.GetProperty("child").GetProperty("clock").GetProperty("deadline").GetDateTimeOffset();
        }

        await using var second = new PostgresAppFactory(database, clusterId, Window);
        var again = second.CreateClient();

        var after = await Send(again, HttpMethod.Get, "/api/children/c1");
        Assert.Equal(before.GetProperty("workerId").GetString(), after.GetProperty("workerId").GetString());
        Assert.Equal(1, after.GetProperty("workerChanges").GetInt32());
        Assert.Equal(2, after.GetProperty("distinctWorkersLast12Months").GetInt32());
        Assert.Equal(before.GetProperty("workerHistory").GetRawText(), after.GetProperty("workerHistory").GetRawText());
        Assert.Equal(before.GetProperty("clock").GetProperty("deadline").GetDateTimeOffset(), after.GetProperty("clock").GetProperty("deadline").GetDateTimeOffset());
        var w2 = await Send(again, HttpMethod.Get, "/api/workers/w2");
        Assert.Equal(1, w2.GetProperty("caseloadCount").GetInt32());
        Assert.Equal(6, w2.GetProperty("ceiling").GetInt32());
        Assert.Equal(0, (await Send(again, HttpMethod.Get, "/api/workers/w1")).GetProperty("caseloadCount").GetInt32());

        // A retry of a command applied before the restart is answered from the stored receipt.
        var retry = await Send(again, HttpMethod.Post, "/api/children/c1/reallocate", new { requestId = "r3", workerId = "w2", reason = "rebalance" });
        Assert.True(retry.GetProperty("replayed").GetBoolean());

        // Only the team board is read, never the child: the breach must come from the durable reminder.
        var breaches = 0;
        var giveUp = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(90);
        while (breaches == 0 && DateTimeOffset.UtcNow < giveUp)
        {
            await Task.Delay(500);
            breaches = (await Send(again, HttpMethod.Get, "/api/teams/t1/board")).GetProperty("recentBreaches").GetArrayLength();
        }

        Assert.Equal(1, breaches);
        var c2 = await Send(again, HttpMethod.Get, "/api/children/c2");
        Assert.Equal(deadline, c2.GetProperty("clock").GetProperty("deadline").GetDateTimeOffset());
        Assert.True(c2.GetProperty("clock").GetProperty("breached").GetBoolean());
    }

    [PostgresFact]
    public async Task A_reservation_left_by_a_crash_between_the_two_writes_is_released_after_restart()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clusterId = "crash-" + Guid.NewGuid().ToString("N")[..8];

        await using (var first = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24)))
        {
            var http = first.CreateClient();
            await Send(http, HttpMethod.Put, "/api/teams/t1", new { name = "Assessment" });
            await Send(http, HttpMethod.Put, "/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0, ceiling = 2 });
            await Send(http, HttpMethod.Post, "/api/children/kept/refer", new { requestId = "r1", teamId = "t1" });
            await Send(http, HttpMethod.Post, "/api/children/kept/allocate", new { requestId = "r2", workerId = "w1" });
            await Send(http, HttpMethod.Post, "/api/children/lost/refer", new { requestId = "r3", teamId = "t1" });
            // The worker's write of an allocation whose child write never happened.
            var grains = first.Services.GetRequiredService<IGrainFactory>();
            var reservation = await grains.GetGrain<ISocialWorkerGrain>("w1").Reserve(new ReservePlace("lost", "t1", "r4", null));
            Assert.Null(reservation.Refusal);
        }

        await using var second = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24));
        var again = second.CreateClient();
        var caseload = 0;
        var giveUp = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        do
        {
            caseload = (await Send(again, HttpMethod.Get, "/api/workers/w1")).GetProperty("caseloadCount").GetInt32();
        }
        while (caseload != 1 && DateTimeOffset.UtcNow < giveUp && await Delay());

        Assert.Equal(1, caseload);
        Assert.Equal("Unallocated", (await Send(again, HttpMethod.Get, "/api/children/lost")).GetProperty("status").GetString());
        await Send(again, HttpMethod.Post, "/api/children/lost/allocate", new { requestId = "r5", workerId = "w1" });
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }
}

public sealed class PostgresAppFactory(
    string connectionString, string clusterId, TimeSpan allocationWindow, IReadOnlyDictionary<string, string?>? settings = null)
    : AppFactory(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
{
    ["ConnectionStrings:Allocation"] = connectionString,
    ["Orleans:ClusterId"] = clusterId,
    ["Allocation:AllocationWindow"] = allocationWindow.ToString(),
    ["Allocation:AmberThreshold"] = (allocationWindow / 3).ToString(),
});
