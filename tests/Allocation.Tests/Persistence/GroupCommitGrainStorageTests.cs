using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
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
    public async Task A_workers_receipts_are_rows_of_their_own_as_a_childs_are()
    {
        var database = await NewDatabaseWithSchemaAsync();
        await using var storage = Create(database);
        var id = GrainId.Create("socialworker", "w1");
        var at = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        var worker = new GrainState<SocialWorkerState>(new SocialWorkerState { Exists = true, Name = "w1", TeamId = "t1" });
        await storage.WriteStateAsync("worker", id, worker); // no command: no receipt
        worker.State!.HasLeft = true;
        worker.State.Receipts = [Receipt("r-absence", "absence", at.AddDays(-1), 0)]; // as an earlier version kept them
        worker.State.Receipting = [.. worker.State.Receipts, Receipt("r-leave", "leave", at, 0)];
        worker.State.Receipts = null;
        await storage.WriteStateAsync("worker", id, worker);

        Assert.Equal("leave", (await storage.FindReceipt(id, "r-leave"))?.Command);
        Assert.Equal("absence", (await storage.FindReceipt(id, "r-absence"))?.Command);
        Assert.Equal(2L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.ReceiptTable}"));
        var read = new GrainState<SocialWorkerState>();
        await storage.ReadStateAsync("worker", id, read);
        Assert.True(read.State!.HasLeft);
        Assert.Null(read.State.Receipts);
        Assert.Null(read.State.Receipting);
        Assert.Equal("2", read.ETag);
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

    [PostgresFact]
    public async Task A_place_is_stored_only_while_the_workers_other_stored_places_are_under_the_limit_it_was_reserved_with()
    {
        var database = await NewDatabaseWithSchemaAsync();
        await using var storage = Create(database);
        var at = new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);
        await storage.WriteStateAsync("child", GrainId.Create("child", "c1"), new GrainState<ChildState>(Child("t1", "w1", at)));
        var third = new GrainState<ChildState>(Child("t1", null, at));
        await storage.WriteStateAsync("child", GrainId.Create("child", "c2"), new GrainState<ChildState>(Child("t1", null, at)));
        await storage.WriteStateAsync("child", GrainId.Create("child", "c3"), third);

        // Another silo's activation of the worker, in a transaction not yet committed: it holds the worker's lock and
        // has given c2 a place, so the worker's stored places reach two.
        await using var other = new NpgsqlConnection(database);
        await other.OpenAsync();
        await using var otherTransaction = await other.BeginTransactionAsync();
        await using (var lockWorker = new NpgsqlCommand($"select pg_advisory_xact_lock({GroupCommitGrainStorage.LockKey("w1")})", other, otherTransaction))
        {
            await lockWorker.ExecuteNonQueryAsync();
        }

        await using (var take = new NpgsqlCommand(
            $"update {GroupCommitGrainStorage.Table} set worker_id = 'w1', payload = $1 where grain_id = 'child/c2'", other, otherTransaction))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = Serializer.Serialize(Child("t1", "w1", at)).ToArray() });
            await take.ExecuteNonQueryAsync();
        }

        // This silo's worker counted one place and reserved c3 under a limit of two: the write waits for the lock,
        // then sees both places and is refused as stale.
        Allocate(third.State!, "w1", at, limit: 2);
        var write = storage.WriteStateAsync("child", GrainId.Create("child", "c3"), third);
        await Task.Delay(500);
        Assert.False(write.IsCompleted, "The write did not wait for the worker's lock");
        await otherTransaction.CommitAsync();
        await Assert.ThrowsAsync<InconsistentStateException>(() => write);
        Assert.Equal(["c1", "c2"], (await storage.ReadHeld("w1")).Select(p => p.ChildId).Order().ToArray());

        // Under a limit the stored places leave room for, the same write is stored; without one (an override), too.
        Allocate(third.State!, "w1", at, limit: 3);
        await storage.WriteStateAsync("child", GrainId.Create("child", "c3"), third);
        Assert.Equal(["c1", "c2", "c3"], (await storage.ReadHeld("w1")).Select(p => p.ChildId).Order().ToArray());
        var fourth = new GrainState<ChildState>(Child("t1", null, at));
        await storage.WriteStateAsync("child", GrainId.Create("child", "c4"), fourth);
        Allocate(fourth.State!, "w1", at, limit: null);
        await storage.WriteStateAsync("child", GrainId.Create("child", "c4"), fourth);
        Assert.Equal(4, (await storage.ReadHeld("w1")).Count);
    }

    [PostgresFact]
    public async Task A_table_from_before_the_worker_column_files_each_allocated_open_child_under_its_worker_once()
    {
        var at = new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
        var closed = Child("t1", "w1", at);
        closed.Status = ChildStatus.Closed;
        var legacyWorker = new Allocation.Grains.SocialWorkers.SocialWorkerState { Exists = true, Name = "One", TeamId = "t1" };
        legacyWorker.LegacyCaseload = new() { ["c1"] = new("c1", at, "r1", null), ["ghost"] = new("ghost", at, "r9", null) };
        var database = await EarlierDatabaseUpgradedAsync(withTeamColumn: true,
            ("child/c1", "child", "t1", Child("t1", "w1", at)), ("child/c2", "child", "t1", Child("t1", null, at)),
            ("child/c3", "child", null, closed), ("child/c4", "child", "t1", Child("t1", "w2", at)),
            ("socialworker/w1", "worker", "t1", legacyWorker));

        // Only the open children's records count: not a closed child's last worker, not the worker's own old list.
        await using var storage = Create(database);
        var held = Assert.Single(await storage.ReadHeld("w1"));
        Assert.Equal(("c1", at, (string?)null), (held.ChildId, held.AllocatedAt, held.RequestId));
        Assert.Equal("c4", Assert.Single(await storage.ReadHeld("w2")).ChildId);
        Assert.Equal(2L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.Table} where worker_id is not null"));
        Assert.Equal(1L, await ScalarAsync(database, $"select count(*) from pg_indexes where indexname = '{GroupCommitGrainStorage.Table}_worker'"));
    }

    [PostgresFact]
    public async Task A_table_from_before_the_team_and_worker_columns_files_each_member_under_its_team_and_each_place_under_its_worker()
    {
        var at = new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
        var closed = Child("t1", "w1", at);
        closed.Status = ChildStatus.Closed;
        var database = await EarlierDatabaseUpgradedAsync(withTeamColumn: false,
            ("child/c1", "child", null, Child("t1", "w1", at)), ("child/c2", "child", null, Child("t2", null, at)), ("child/c3", "child", null, closed),
            ("socialworker/w1", "worker", null, new Allocation.Grains.SocialWorkers.SocialWorkerState { Exists = true, Name = "One", TeamId = "t1" }));

        // Open children and workers are filed under their teams (a closed child under none), places under workers.
        await using var storage = Create(database);
        var team = await storage.Read("t1");
        Assert.Equal(("c1", "w1"), (Assert.Single(team.Children).Key, Assert.Single(team.Workers).Key));
        Assert.Equal("c2", Assert.Single((await storage.Read("t2")).Children).Key);
        Assert.Equal("c1", Assert.Single(await storage.ReadHeld("w1")).ChildId);
        Assert.Equal(3L, await ScalarAsync(database, $"select count(*) from {GroupCommitGrainStorage.Table} where team_id is not null"));
    }

    /// <summary>A database whose state table an earlier version made (without the worker column, and without the team
    /// column unless asked), holding these rows, after the schema step each start runs, run twice.</summary>
    private async Task<string> EarlierDatabaseUpgradedAsync(bool withTeamColumn, params (string GrainId, string StateName, string? Team, object State)[] rows)
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand($"""
            create table {GroupCommitGrainStorage.Table} (grain_id text not null, state_name text not null, version bigint not null,
                payload bytea not null, modified_at timestamptz not null default now(){(withTeamColumn ? ", team_id text" : "")}, primary key (grain_id, state_name))
            """, connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        foreach (var (grainId, stateName, team, state) in rows)
        {
            await using var insert = new NpgsqlCommand(withTeamColumn
                ? $"insert into {GroupCommitGrainStorage.Table} (grain_id, state_name, version, payload, team_id) values ($1, $2, 1, $3, $4)"
                : $"insert into {GroupCommitGrainStorage.Table} (grain_id, state_name, version, payload) values ($1, $2, 1, $3)", connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = grainId });
            insert.Parameters.Add(new NpgsqlParameter { Value = stateName });
            insert.Parameters.Add(new NpgsqlParameter { Value = Serializer.Serialize(state).ToArray() });
            if (withTeamColumn)
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)team ?? DBNull.Value });
            }

            await insert.ExecuteNonQueryAsync();
        }

        await GroupCommitGrainStorage.EnsureSchemaAsync(connection, Serializer, CancellationToken.None);
        await GroupCommitGrainStorage.EnsureSchemaAsync(connection, Serializer, CancellationToken.None);
        return database;
    }

    private static ChildState Child(string teamId, string? workerId, DateTimeOffset at) => new()
    {
        Exists = true, Status = workerId is null ? ChildStatus.Unallocated : ChildStatus.Allocated, TeamId = teamId, WorkerId = workerId, ReferredAt = at,
        WorkerHistory = workerId is null ? [] : [new WorkerPeriod(workerId, teamId, at, null, "allocation", "pm")],
    };

    private static void Allocate(ChildState child, string workerId, DateTimeOffset at, int? limit)
    {
        (child.Status, child.WorkerId, child.PlaceLimit) = (ChildStatus.Allocated, workerId, limit);
        child.WorkerHistory = [new WorkerPeriod(workerId, child.TeamId, at, null, "allocation", "pm")];
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
