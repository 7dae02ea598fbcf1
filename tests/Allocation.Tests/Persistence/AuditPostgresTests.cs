using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Service.Audit;
using Allocation.Service.Persistence;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Allocation.Tests.Persistence;

[Collection(PostgresCollection.Name)]
public class AuditPostgresTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task The_trail_is_append_only_group_committed_and_a_retry_is_recorded_once()
    {
        var database = await postgres.CreateDatabaseAsync("audit");
        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        await using var trail = new PostgresAuditTrail(database, NullLogger<PostgresAuditTrail>.Instance);

        // 200 commands at once: all durable when their tasks complete, in fewer transactions than entries.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => trail.AppendAsync(Entry($"c{i % 10}", $"r{i}"))));
        var transactions = await TransactionsAsync(database);
        Assert.True(transactions < 200, $"{transactions} transactions for 200 entries");
        await trail.AppendAsync(Entry("c1", "r1"));   // the same decision again

        Assert.Equal(20, (await trail.QueryAsync(new AuditQuery(ChildId: "c1"))).Count);
        Assert.Equal(200, (await trail.QueryAsync(new AuditQuery(TeamId: "t1"))).Count);
        Assert.Equal(200, (await trail.QueryAsync(new AuditQuery(WorkerId: "w-before"))).Count);
        var page = await trail.QueryAsync(new AuditQuery(Limit: 50));
        Assert.Equal(50, page.Count);
        Assert.Equal(50, (await trail.QueryAsync(new AuditQuery(After: page[^1].Sequence, Limit: 50))).Count);
        Assert.Equal(page.Select(e => e.Sequence).Order(), page.Select(e => e.Sequence));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        foreach (var sql in new[] { "update allocation_audit set user_id = 'someone else'", "delete from allocation_audit", "truncate allocation_audit" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", refused.MessageText);
        }

        Assert.Equal(200, (await trail.QueryAsync(new AuditQuery(Limit: 10_000))).Count);
    }

    [PostgresFact]
    public async Task After_the_index_upgrade_a_retry_of_a_decision_recorded_before_it_is_still_recorded_once()
    {
        var database = await postgres.CreateDatabaseAsync("audit-upgrade");
        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        var before = Entry("c1", "r1");
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            // The trail as schema version 5 left it: unique on the whole key, a B-tree on time, and a decision recorded.
            await using var downgrade = new NpgsqlCommand($"""
                drop index allocation_audit_dedup;
                alter table allocation_audit add constraint allocation_audit_dedup_key_key unique (dedup_key);
                drop index allocation_audit_at;
                create index allocation_audit_at on allocation_audit (at);
                delete from {PostgresSchema.VersionTable} where version >= 6;
                insert into allocation_audit (at, user_id, roles, action, outcome, status, request_id, child_id, team_id, dedup_key)
                values (now(), 'u1', 'PracticeManager', 'child.allocate', 'Accepted', 200, 'r1', 'c1', 't1', @key);
                """, connection);
            downgrade.Parameters.AddWithValue("key", before.DedupKey()!);
            await downgrade.ExecuteNonQueryAsync();
        }

        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        await using var trail = new PostgresAuditTrail(database, NullLogger<PostgresAuditTrail>.Instance);
        await trail.AppendAsync(before);                 // the retry, after the upgrade
        await trail.AppendAsync(Entry("c1", "r2"));      // another decision

        Assert.Equal(["r1", "r2"], (await trail.QueryAsync(new AuditQuery(ChildId: "c1"))).Select(e => e.RequestId));
        var from = DateTimeOffset.UtcNow.AddMinutes(-5);
        Assert.Equal(2, (await trail.QueryAsync(new AuditQuery(From: from, To: from.AddMinutes(10)))).Count);
        Assert.Empty(await trail.QueryAsync(new AuditQuery(To: from)));
    }

    [PostgresFact]
    public async Task A_childs_accepted_command_is_recorded_in_its_own_write_as_the_api_would_have_recorded_it()
    {
        var database = await postgres.CreateDatabaseAsync("audit-with-write");
        await using var durable = new PostgresAppFactory(database, "audit-" + Guid.NewGuid().ToString("N")[..8], TimeSpan.FromHours(24));
        await using var memory = new AppFactory();
        foreach (var factory in new AppFactory[] { durable, memory })
        {
            await RunScriptAsync(factory.CreateClient());
        }

        var written = await durable.Services.GetRequiredService<IAuditTrail>().QueryAsync(new AuditQuery(Limit: 1000));
        var expected = await memory.Services.GetRequiredService<IAuditTrail>().QueryAsync(new AuditQuery(Limit: 1000));
        Assert.Equal(expected.Select(Shown), written.Select(Shown));
        // Both paths complete an entry by one set of rules; what those rules give, command by command:
        Assert.Equal(
            [("r1", "t1", null, null, null), ("r2", "t1", "w1", null, null), ("r3", "t1", "w2", null, "w1"),
             ("r8", "t1", "w1", "t2", null), ("r9", "t1", "w2", null, null)],
            written.Where(e => e.RequestId is "r1" or "r2" or "r3" or "r8" or "r9" && e.Outcome == AuditOutcome.Accepted)
                .Select(e => (e.RequestId, e.TeamId, e.WorkerId, e.OtherTeamId, e.OtherWorkerId)));
        Assert.Equal(8, written.Count(e => e.Action.StartsWith("child.", StringComparison.Ordinal) && e.Outcome == AuditOutcome.Accepted && e.Detail is null));

        // Each applied command's entry was inserted by the transaction that stored its receipt: the child's write.
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select a.request_id, exists (select 1 from allocation_command_receipt r where r.request_id = a.request_id and r.xmin = a.xmin)
            from allocation_audit a where a.action like 'child.%' and a.outcome = 'Accepted' and a.detail is null order by a.sequence
            """, connection);
        var sameTransaction = new List<(string, bool)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                sameTransaction.Add((reader.GetString(0), reader.GetBoolean(1)));
            }
        }

        Assert.Equal([("r1", true), ("r2", true), ("r3", true), ("r4", true), ("r5", true), ("r6", true), ("r8", true), ("r9", true)], sameTransaction);

        static async Task RunScriptAsync(HttpClient http)
        {
            (await http.PutAsJsonAsync("/api/teams/t1", new { name = "North" })).EnsureSuccessStatusCode();
            (await http.PutAsJsonAsync("/api/teams/t2", new { name = "South" })).EnsureSuccessStatusCode();
            (await http.PutAsJsonAsync("/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0, ceiling = 1 })).EnsureSuccessStatusCode();
            (await http.PutAsJsonAsync("/api/workers/w2", new { name = "Two", teamId = "t1", role = "SocialWorker", fte = 1.0, ceiling = 5 })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/refer", new { requestId = "r1", teamId = "t1" })).EnsureSuccessStatusCode();
            // An entry sent in the body is not the entry: the sign-in is.
            (await http.PostAsJsonAsync("/api/children/c1/allocate", new
            {
                requestId = "r2", workerId = "w1", audit = new { userId = "someone-else", roles = "SeniorLeader", action = "child.close" },
            })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/reallocate", new { requestId = "r3", workerId = "w2", reason = "cover" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/reallocate", new { requestId = "r3", workerId = "w2", reason = "cover" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c2/refer", new { requestId = "r4", teamId = "t1" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c3/refer", new { requestId = "r5", teamId = "t1" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c2/allocate", new { requestId = "r6", workerId = "w1" })).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsJsonAsync("/api/children/c3/allocate", new { requestId = "r7", workerId = "w1" })).StatusCode);
            (await http.PostAsJsonAsync("/api/children/c2/transfer", new { requestId = "r8", toTeamId = "t2", reason = "moved" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/close", new { requestId = "r9", reason = "done" })).EnsureSuccessStatusCode();
        }

        static string Shown(AuditEntry e) => string.Join('|', e.UserId, e.Roles, e.Action, e.Outcome, e.Status, e.RequestId, e.ChildId, e.TeamId,
            e.WorkerId, e.OtherTeamId, e.OtherWorkerId, e.Rule, e.Figures, e.Reason, e.OverrideReason, e.Detail);
    }

    [PostgresFact]
    public async Task A_command_refused_for_control_characters_answers_400_and_is_on_the_record_with_them_made_visible()
    {
        var database = await postgres.CreateDatabaseAsync("audit-hostile");
        await using var factory = new PostgresAppFactory(database, "audit-" + Guid.NewGuid().ToString("N")[..8], TimeSpan.FromHours(24));
        var http = factory.CreateClient();
        (await http.PutAsJsonAsync("/api/teams/t1", new { name = "North" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/api/children/c1/refer", new { requestId = "r1", teamId = "t1" })).EnsureSuccessStatusCode();

        // PostgreSQL takes no NUL in text; the 600-character id is clipped to 500, which would cut the emoji's
        // surrogate pair in two (a lone surrogate cannot be encoded): it is clipped before the pair, to 499.
        var hostile = "\u0000\u0007\u001b[31m\r\n\t" + new string('x', 489) + "\ud83d\ude00" + new string('y', 100);
        var response = await http.PutAsJsonAsync("/api/children/c1/case-record", new { requestId = hostile, record = new { visitDueOn = "2026-11-01" } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        var entries = await factory.Services.GetRequiredService<IAuditTrail>().QueryAsync(new AuditQuery(ChildId: "c1"));
        var entry = Assert.Single(entries, e => e.Action == "child.case-record");
        Assert.Equal(AuditOutcome.Invalid, entry.Outcome);
        Assert.Equal("\uFFFD\uFFFD\uFFFD[31m\r\n\t" + new string('x', 489), entry.RequestId);
        var child = await http.GetFromJsonAsync<JsonElement>("/api/children/c1");
        Assert.Equal(1, child.GetProperty("version").GetInt64());
        Assert.Equal(JsonValueKind.Null, child.GetProperty("caseRecord").ValueKind);
    }

    [PostgresFact]
    public async Task A_childs_allocation_history_survives_a_restart_of_the_service()
    {
        var database = await postgres.CreateDatabaseAsync("audit-restart");
        var clusterId = "audit-" + Guid.NewGuid().ToString("N")[..8];
        await using (var first = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24)))
        {
            var http = first.CreateClient();
            (await http.PutAsJsonAsync("/api/teams/t1", new { name = "North" })).EnsureSuccessStatusCode();
            (await http.PutAsJsonAsync("/api/workers/w1", new { name = "One", teamId = "t1", role = "SocialWorker", fte = 1.0, ceiling = 1 })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/refer", new { requestId = "r1", teamId = "t1" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c1/allocate", new { requestId = "r2", workerId = "w1" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/children/c2/refer", new { requestId = "r3", teamId = "t1" })).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsJsonAsync("/api/children/c2/allocate", new { requestId = "r4", workerId = "w1" })).StatusCode);
        }

        await using var second = new PostgresAppFactory(database, clusterId, TimeSpan.FromHours(24));
        var again = second.CreateClient();
        var history = await again.GetFromJsonAsync<JsonElement>("/api/children/c2/allocation-history");
        Assert.Equal([("child.refer", "Accepted"), ("child.allocate", "Refused")],
            history.EnumerateArray().Select(e => (e.GetProperty("action").GetString(), e.GetProperty("outcome").GetString())));
        Assert.Equal("caseload-ceiling", history[1].GetProperty("rule").GetString());
        Assert.Equal(TestUsers.Superuser.Id, history[1].GetProperty("userId").GetString());
    }

    [PostgresFact]
    public async Task In_production_the_demo_sign_in_does_not_exist_and_only_the_providers_tokens_count()
    {
        var database = await postgres.CreateDatabaseAsync("production");
        await using var factory = new ProductionFactory(database);
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = null;

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/demo/users")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/api/demo/sign-in", new { userId = "U-HOS" })).StatusCode);
        Assert.Null(factory.Services.GetService<Allocation.Service.Security.DemoTokens>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/teams")).StatusCode);
        // A token the demo would have signed is just a string here.
        await using var demo = new AppFactory();
        http.DefaultRequestHeaders.Authorization = new("Bearer", demo.Token(TestUsers.Superuser));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/teams")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    private static AuditEntry Entry(string child, string requestId) => new(0, DateTimeOffset.UtcNow, "u1", "PracticeManager", "child.allocate",
        AuditOutcome.Accepted, 200, requestId, null, child, "t1", "w1", null, "w-before", null, null, null, null, null);

    /// <summary>The transactions that wrote the trail's rows: each row's xmin is its inserting transaction.</summary>
    private static async Task<long> TransactionsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(distinct xmin::text) from allocation_audit", connection);
        return (long)(await command.ExecuteScalarAsync())!;
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
