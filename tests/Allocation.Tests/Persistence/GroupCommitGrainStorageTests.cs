using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;
using Allocation.Service.Persistence;
using Allocation.Tests.Infrastructure;
using static Allocation.Tests.Infrastructure.ApiCalls;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Tests.Persistence;

/// <summary>The group-commit grain storage on a real PostgreSQL.</summary>
[Collection("postgres")]
public class GroupCommitGrainStorageTests(PostgresServer postgres)
{
    public sealed class Counter
    {
        public int Value { get; set; }

        public string Note { get; set; } = "";
    }

    [PostgresFact]
    public async Task State_written_is_read_back_by_a_new_storage_on_the_same_database()
    {
        var database = await NewDatabaseAsync();
        var id = GrainId.Create("counter", "a");
        await using (var storage = Create(database))
        {
            var state = new GrainState<Counter>(new Counter { Value = 7, Note = "first" });
            await storage.WriteStateAsync("counter", id, state);
            state.State!.Value = 8;
            await storage.WriteStateAsync("counter", id, state);
            Assert.Equal("2", state.ETag);
        }

        await using var restarted = Create(database);
        var read = new GrainState<Counter>();
        await restarted.ReadStateAsync("counter", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal(8, read.State!.Value);
        Assert.Equal("first", read.State!.Note);
        Assert.Equal("2", read.ETag);

        var missing = new GrainState<Counter>();
        await restarted.ReadStateAsync("counter", GrainId.Create("counter", "never-written"), missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        Assert.Equal(0, missing.State!.Value);
    }

    [PostgresFact]
    public async Task A_stale_write_fails_that_grain_alone_and_the_rest_of_its_batch_commits()
    {
        var database = await NewDatabaseAsync();
        await using var storage = Create(database, writers: 1);
        var stale = GrainId.Create("counter", "stale");
        var current = new GrainState<Counter>(new Counter { Value = 1 });
        await storage.WriteStateAsync("counter", stale, current);
        var outdated = new GrainState<Counter>(new Counter { Value = 100 }) { ETag = current.ETag, RecordExists = true };
        current.State!.Value = 2;
        await storage.WriteStateAsync("counter", stale, current);

        // The stale write goes in among many others, so it shares a batch with some of them.
        var others = Enumerable.Range(0, 200).Select(i => (Id: GrainId.Create("counter", $"other-{i}"), State: new GrainState<Counter>(new Counter { Value = i }))).ToList();
        var writes = others.Select(o => storage.WriteStateAsync("counter", o.Id, o.State)).ToList();
        var staleWrite = storage.WriteStateAsync("counter", stale, outdated);
        writes.AddRange(others.Take(50).Select(o => storage.WriteStateAsync("counter", GrainId.Create("counter", "more-" + o.Id.Key), new GrainState<Counter>(new Counter()))));

        await Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        await Task.WhenAll(writes);

        await using var reader = Create(database);
        var stored = new GrainState<Counter>();
        await reader.ReadStateAsync("counter", stale, stored);
        Assert.Equal(2, stored.State!.Value);
        Assert.Equal("2", stored.ETag);
        foreach (var (id, state) in others)
        {
            var read = new GrainState<Counter>();
            await reader.ReadStateAsync("counter", id, read);
            Assert.Equal(state.State!.Value, read.State!.Value);
        }
    }

    [PostgresFact]
    public async Task Two_first_writes_of_one_grain_store_one_and_refuse_the_other()
    {
        var database = await NewDatabaseAsync();
        await using var storage = Create(database);
        var id = GrainId.Create("counter", "new");
        var first = storage.WriteStateAsync("counter", id, new GrainState<Counter>(new Counter { Value = 1 }));
        var second = storage.WriteStateAsync("counter", id, new GrainState<Counter>(new Counter { Value = 2 }));

        var outcomes = await Task.WhenAll(Outcome(first), Outcome(second));
        Assert.Equal(1, outcomes.Count(o => o is null));
        Assert.IsType<InconsistentStateException>(Assert.Single(outcomes, o => o is not null));
    }

    [PostgresFact]
    public async Task Concurrent_writes_from_many_grains_are_committed_in_far_fewer_transactions()
    {
        var database = await NewDatabaseAsync();
        await using var storage = Create(database, writers: 1);
        var xidBefore = await TransactionIdAsync(database);

        const int grains = 400;
        var states = Enumerable.Range(0, grains).Select(i => new GrainState<Counter>(new Counter { Value = i })).ToArray();
        for (var round = 0; round < 3; round++)
        {
            await Task.WhenAll(states.Select((s, i) => storage.WriteStateAsync("counter", GrainId.Create("counter", $"g{i}"), s)));
        }

        var (batches, writes) = storage.Committed;
        Assert.Equal(3 * grains, writes);
        Assert.True(batches <= writes / 10, $"{writes} writes took {batches} batches");
        // PostgreSQL's own count agrees: about one transaction per batch, not one per write.
        var commits = await TransactionIdAsync(database) - xidBefore - 1;
        Assert.True(commits < writes / 5, $"{commits} transactions committed for {writes} writes");
        Assert.All(states, s => Assert.Equal("3", s.ETag));
    }

    [PostgresFact]
    public async Task Clear_deletes_the_row_only_at_the_version_it_was_read_at()
    {
        var database = await NewDatabaseAsync();
        await using var storage = Create(database);
        var id = GrainId.Create("counter", "cleared");
        var state = new GrainState<Counter>(new Counter { Value = 1 });
        await storage.WriteStateAsync("counter", id, state);
        var outdated = new GrainState<Counter>(new Counter()) { ETag = state.ETag, RecordExists = true };
        await storage.WriteStateAsync("counter", id, state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("counter", id, outdated));
        await storage.ClearStateAsync("counter", id, state);
        Assert.False(state.RecordExists);

        var read = new GrainState<Counter>();
        await storage.ReadStateAsync("counter", id, read);
        Assert.False(read.RecordExists);
    }

    [PostgresFact]
    public async Task A_closure_is_stored_once_with_the_write_that_records_it_and_never_by_a_stale_write()
    {
        var database = await NewDatabaseWithSchemaAsync();
        await using var storage = Create(database);
        var id = GrainId.Create("child", "c1");
        var closedAt = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        var child = new GrainState<ChildState>(new ChildState { Exists = true, TeamId = "t1", Episode = 1, Status = ChildStatus.Allocated });
        await storage.WriteStateAsync("child", id, child);
        var outdated = new GrainState<ChildState>(new ChildState { Exists = true, TeamId = "t1", Episode = 2, Status = ChildStatus.Closed })
        {
            ETag = child.ETag,
            RecordExists = true,
        };
        outdated.State!.Closing = Closed("c1", 2, closedAt.AddDays(1));

        child.State!.Status = ChildStatus.Closed;
        child.State.Closing = Closed("c1", 1, closedAt);
        await storage.WriteStateAsync("child", id, child);
        // Stale: it expects version 1 and would write 2, which is stored, but by another write.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("child", id, outdated));
        await storage.WriteStateAsync("child", id, child); // written again with the same closure: still one

        var stored = Assert.Single(await storage.ReadClosed("t1", closedAt));
        Assert.Equal(("c1", 1, closedAt), (stored.Summary.ChildId, stored.Summary.Version, stored.ClosedAt));
        Assert.Empty(await storage.ReadClosed("t1", closedAt.AddMilliseconds(1)));
        Assert.Empty(await storage.ReadClosed("t2", closedAt));
        Assert.Equal(1L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.ClosedTable}"));
    }

    [PostgresFact]
    public async Task Receipts_are_stored_with_the_write_that_applies_their_command_and_never_by_a_stale_write()
    {
        var database = await NewDatabaseWithSchemaAsync();
        await using var storage = Create(database);
        var id = GrainId.Create("child", "c1");
        var at = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        var child = new GrainState<ChildState>(new ChildState { Exists = true, TeamId = "t1", Episode = 1 });
        child.State!.Receipting = [Receipt("r-refer", "refer", at, 1)];
        await storage.WriteStateAsync("child", id, child); // the first write (an insert) with its receipt
        var outdated = new GrainState<ChildState>(new ChildState { Exists = true, TeamId = "t1", Episode = 1 }) { ETag = child.ETag, RecordExists = true };
        outdated.State!.Receipting = [Receipt("r-stale", "allocate", at.AddMinutes(1), 2)];

        child.State.Receipting = [Receipt("r-old", "refer", at.AddDays(-1), 1), Receipt("r-allocate", "allocate", at.AddMinutes(2), 2)];
        await storage.WriteStateAsync("child", id, child); // an update with two (one of them moved from an old row)
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("child", id, outdated));
        var other = new GrainState<ChildState>(new ChildState { Exists = true, TeamId = "t1" });
        other.State!.Receipting = [Receipt("r-refer", "refer", at, 1)];
        await storage.WriteStateAsync("child", GrainId.Create("child", "c2"), other); // the same request id, another grain

        Assert.Equal(("refer", 1L), (await storage.FindReceipt(id, "r-refer")) is { } refer ? (refer.Command, refer.Version) : default);
        Assert.Equal(at.AddMinutes(2), (await storage.FindReceipt(id, "r-allocate"))?.AppliedAt);
        Assert.NotNull(await storage.FindReceipt(id, "r-old"));
        Assert.Null(await storage.FindReceipt(id, "r-stale"));
        Assert.Null(await storage.FindReceipt(GrainId.Create("child", "c3"), "r-refer"));
        Assert.Equal(4L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.ReceiptTable}"));
        // The state row itself carries no receipts.
        var read = new GrainState<ChildState>();
        await storage.ReadStateAsync("child", id, read);
        Assert.Null(read.State!.Receipts);
        Assert.Equal("2", read.ETag);

        // Pruning deletes the receipts applied before its time, and only those.
        Assert.Equal(1L, await storage.PruneReceiptsAsync(at, CancellationToken.None));
        Assert.Null(await storage.FindReceipt(id, "r-old"));
        Assert.NotNull(await storage.FindReceipt(id, "r-refer"));
        Assert.NotNull(await storage.FindReceipt(id, "r-allocate"));
        Assert.Equal(3L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.ReceiptTable}"));
    }

    [PostgresFact]
    public async Task Closed_case_lists_of_an_earlier_version_move_to_rows_of_their_own_once()
    {
        var database = await NewDatabaseAsync();
        var at = new DateTimeOffset(2026, 10, 1, 12, 0, 0, TimeSpan.Zero);
        var legacy = new LegacyClosedCasesState { Cases = [Closed("c1", 4, at), Closed("c2", 7, at.AddDays(3)), Closed("c1", 9, at.AddDays(5))] };
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using (var insert = new NpgsqlCommand(
                $"insert into {GroupCommitGrainStorage.Table} (grain_id, state_name, version, payload) values ('closedcases/t1', '{LegacyClosedCasesState.StateName}', 3, $1)", connection))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = Serializer.Serialize(legacy).ToArray() });
                await insert.ExecuteNonQueryAsync();
            }

            await GroupCommitGrainStorage.EnsureSchemaAsync(connection, Serializer, CancellationToken.None);
            await GroupCommitGrainStorage.EnsureSchemaAsync(connection, Serializer, CancellationToken.None);
        }

        await using var storage = Create(database);
        var moved = await storage.ReadClosed("t1", at);
        Assert.Equal([("c1", 4L), ("c2", 7L), ("c1", 9L)], moved.Select(c => (c.Summary.ChildId, c.Summary.Version)));
        Assert.Equal(2, (await storage.ReadClosed("t1", at.AddDays(1))).Count);
        Assert.Equal(0L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.Table} where state_name = '{LegacyClosedCasesState.StateName}'"));
    }

    [PostgresFact]
    public async Task A_row_stored_as_json_by_the_earlier_version_is_read_and_rewritten_in_the_binary_format()
    {
        var database = await NewDatabaseWithSchemaAsync();
        var id = GrainId.Create("child", "c1");
        var at = new DateTimeOffset(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);
        await using (var earlier = Create(database))
        {
            await earlier.WriteStateAsync("child", id, new GrainState<ChildState>(new ChildState
            {
                Exists = true, Status = ChildStatus.Allocated, TeamId = "t1", WorkerId = "w1", ReferredAt = at, Version = 4,
                WorkerHistory = [new WorkerPeriod("w1", "t1", at, null, "allocation", "pm")],
            }));
        }

        await using (var current = Create(database, serializer: BinaryGrainStorageSerializerTests.Binary))
        {
            var read = new GrainState<ChildState>();
            await current.ReadStateAsync("child", id, read);
            Assert.Equal(("t1", "w1", 4L, "w1"), (read.State!.TeamId, read.State.WorkerId, read.State.Version, read.State.WorkerHistory.Single().WorkerId));
            read.State.Version = 5;
            await current.WriteStateAsync("child", id, read);
            Assert.Equal(5L, Assert.Single((await current.Read("t1")).Children).Value.Version);
        }

        Assert.Equal(0xFF, await ScalarAsync(database, $"select get_byte(payload, 0)::bigint from {GroupCommitGrainStorage.Table} where grain_id = '{id}'"));
        await using var restarted = Create(database, serializer: BinaryGrainStorageSerializerTests.Binary);
        var again = new GrainState<ChildState>();
        await restarted.ReadStateAsync("child", id, again);
        Assert.Equal((5L, at, "2"), (again.State!.Version, again.State.ReferredAt, again.ETag));
    }

    private static CommandReceipt Receipt(string requestId, string command, DateTimeOffset at, long version) =>
        new(requestId, command, at, null, "t1", version, "U-1");

    private static ClosedCase Closed(string childId, long version, DateTimeOffset at) =>
        new(new TeamChildSummary(childId, version, null, null, at.AddDays(-30), at.AddDays(-29), "referral", false, 1, [], null, at.AddDays(-30)), at);

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A database with every table the storage makes on start (state, closures, receipts).</summary>
    private async Task<string> NewDatabaseWithSchemaAsync()
    {
        var database = await NewDatabaseAsync();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await GroupCommitGrainStorage.EnsureSchemaAsync(connection, Serializer, CancellationToken.None);
        return database;
    }

    private async Task<string> NewDatabaseAsync()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(GroupCommitGrainStorage.CreateTableSql, connection);
        await command.ExecuteNonQueryAsync();
        return database;
    }

    private static readonly IGrainStorageSerializer Serializer =
        new SystemTextJsonGrainStorageSerializer(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

    private static GroupCommitGrainStorage Create(string connectionString, int writers = 2, IGrainStorageSerializer? serializer = null) =>
        new("test", NpgsqlDataSource.Create(connectionString), serializer ?? Serializer,
            new GroupCommitOptions { Writers = writers }, NullLogger<GroupCommitGrainStorage>.Instance);

    /// <summary>Transaction ids handed out so far: every transaction that writes takes one.</summary>
    private static async Task<long> TransactionIdAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select pg_current_xact_id()::text::bigint", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Exception?> Outcome(Task write)
    {
        try
        {
            await write;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
