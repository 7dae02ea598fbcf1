using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.LoadTests.Faults;
using Allocation.Tests.Persistence;
using static Allocation.Tests.Infrastructure.ApiCalls;

namespace Allocation.Tests.Faults;

/// <summary>
/// The service on a PostgreSQL that then crashes (<c>pg_ctl -m immediate</c>) and stays down: every command answers
/// 503 with "retry with the same requestId", whether its grains were active (the write fails) or not (the read that
/// activates them fails), and whichever step meets the outage first: the team check, the access check's read of the
/// child, the command, or the audit trail's entry.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class DatabaseDownTests
{
    [FaultFact]
    public async Task Every_command_answers_503_with_retry_advice_while_the_database_is_down()
    {
        await using var database = await DurablePostgres.StartAsync();
        var clusterId = "down-" + Guid.NewGuid().ToString("N")[..8];
        await using (var first = new PostgresAppFactory(database.ConnectionString, clusterId, TimeSpan.FromHours(24)))
        {
            var http = first.CreateClient();
            await Send(http, HttpMethod.Put, "/api/teams/t1", new { name = "Assessment" });
            await Send(http, HttpMethod.Put, "/api/teams/t2", new { name = "Long term" });
            await Send(http, HttpMethod.Put, "/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0 });
            await Send(http, HttpMethod.Put, "/api/workers/w2", new { name = "Two", teamId = "t1", role = "SocialWorker", fte = 1.0 });
            foreach (var child in new[] { "held", "waiting", "closing", "moving" })
            {
                await Send(http, HttpMethod.Post, $"/api/children/{child}/refer", new { requestId = $"refer-{child}", teamId = "t1" });
            }

            await Send(http, HttpMethod.Post, "/api/children/held/allocate", new { requestId = "allocate-held", workerId = "w1" });
        }

        // A second life: some grains active when the database goes (their writes fail), the rest not (their reads do).
        await using var second = new PostgresAppFactory(database.ConnectionString, clusterId, TimeSpan.FromHours(24));
        var again = second.CreateClient();
        await Send(again, HttpMethod.Get, "/api/children/held");
        await Send(again, HttpMethod.Get, "/api/workers/w1");
        await Send(again, HttpMethod.Get, "/api/teams/t1/board");
        await database.CrashAsync();

        (HttpMethod Method, string Path, object Body)[] commands =
        [
            (HttpMethod.Put, "/api/teams/t1", new { name = "Assessment and intervention" }),
            (HttpMethod.Put, "/api/workers/w3", new { name = "Three", teamId = "t1", role = "SocialWorker", fte = 1.0 }),
            (HttpMethod.Post, "/api/children/new/refer", new { requestId = "d1", teamId = "t1" }),
            (HttpMethod.Post, "/api/children/waiting/refer", new { requestId = "d2", teamId = "t1" }),
            (HttpMethod.Post, "/api/children/waiting/allocate", new { requestId = "d3", workerId = "w2" }),
            (HttpMethod.Post, "/api/children/held/reallocate", new { requestId = "d4", workerId = "w2", reason = "rebalance" }),
            (HttpMethod.Post, "/api/children/moving/transfer", new { requestId = "d5", toTeamId = "t2", reason = "long term" }),
            (HttpMethod.Post, "/api/children/closing/close", new { requestId = "d6", reason = "no further action" }),
            (HttpMethod.Post, "/api/children/held/close", new { requestId = "d7", reason = "no further action" }),
            (HttpMethod.Post, "/api/workers/w1/leave", new { requestId = "d8", reason = "left", moveToWorkerId = "w2" }),
        ];
        var wrong = new List<string>();
        // Back before the host stops, so that its silo leaves the cluster as usual.
        await using var restart = new DatabaseRestart(database);
        foreach (var (method, path, body) in commands)
        {
            using var response = await again.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) });
            var text = await response.Content.ReadAsStringAsync();
            var advice = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && JsonDocument.Parse(text).RootElement.TryGetProperty("detail", out var detail)
                && detail.GetString()!.Contains("Retry it with the same requestId", StringComparison.Ordinal);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !advice)
            {
                wrong.Add($"{path}: {(int)response.StatusCode} {text}");
            }
        }

        Assert.True(wrong.Count == 0, "Answered otherwise than 503 with retry advice while the database was down:\n" + string.Join("\n", wrong));
    }
}

/// <summary>Starts the crashed database again when disposed.</summary>
internal sealed class DatabaseRestart(DurablePostgres database) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await database.StartAgainAsync();
}
