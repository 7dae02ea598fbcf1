using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Service.Audit;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace Allocation.Service.Persistence;

/// <summary>
/// Grain storage on PostgreSQL that commits many grains' writes together. Each <c>WriteStateAsync</c> serializes the
/// state on the calling grain, queues the write and waits; writer loops (<see cref="GroupCommitQueue{TItem, TResult}"/>) take
/// whatever is queued (up to <see cref="GroupCommitOptions.MaxBatch"/>) and send it as one <see cref="NpgsqlBatch"/>, which PostgreSQL runs as
/// one transaction: one commit, one flush of the write-ahead log, for the whole batch. A write's task completes only
/// after its batch has committed, so a grain call that awaited its write returns with the write durable.
/// </summary>
/// <remarks>
/// Optimistic concurrency is per grain: a row's version is its ETag, and a write whose version is stale changes no row,
/// which fails that grain alone with <see cref="InconsistentStateException"/> while the rest of the batch commits.
/// A batch that fails as a whole (connection lost, server error) fails every write in it; nothing of it was committed.
/// Each row of a state that belongs to a team's board (<see cref="ITeamMember"/>: an open child, a worker) carries
/// that team's id, indexed, so a team rebuilds its board from its members' rows with one query (<see cref="ITeamFacts"/>).
/// Each allocated child's row carries its worker's id, indexed: the one record of the place it holds, from which the
/// worker reads its caseload (<see cref="IHeldPlaces"/>). A write that takes a place under a limit
/// (<see cref="IHoldsPlace.PlaceLimit"/>) first takes a transaction-scoped advisory lock on the worker (all of a batch's
/// locks before any row, in key order, so batches never deadlock), then stores the row only if the worker's other
/// stored places are below the limit: otherwise it is stale, as a write of an old version is.
/// </remarks>
public sealed partial class GroupCommitGrainStorage : IGrainStorage, ITeamFacts, IHeldPlaces, IKnownIds, IClosedCases, ICommandReceipts, IAsyncDisposable
{
    public const string Kind = "GroupCommit";

    public const string Table = "allocation_grain_state";

    private const string CreateTeamIndexSql = $"create index if not exists {Table}_team on {Table} (team_id) where team_id is not null";

    // The names the child and worker grains give their persistent state.
    private const string ChildStateName = "child";
    private const string WorkerStateName = "worker";

    /// <summary>Creates the table if it is missing (idempotent, safe for several silos starting together).</summary>
    public static readonly string CreateTableSql = $"""
        create table if not exists {Table}
        (
            grain_id text not null,
            state_name text not null,
            version bigint not null,
            payload bytea not null,
            modified_at timestamptz not null default now(),
            team_id text,
            worker_id text,
            primary key (grain_id, state_name)
        ) with (fillfactor = 80);
        {CreateTeamIndexSql}
        """;

    private static readonly string CreateWorkerIndexSql = $"create index if not exists {Table}_worker on {Table} (worker_id) where worker_id is not null";

    /// <summary>Each case's closure, once: written in the transaction of the child's state that records it (<see cref="IRecordsClosure"/>).</summary>
    public const string ClosedTable = "allocation_closed_case";

    public static readonly string CreateClosedTableSql = $"""
        create table if not exists {ClosedTable}
        (
            child_id text not null,
            episode integer not null,
            team_id text not null,
            closed_at timestamptz not null,
            payload bytea not null,
            primary key (child_id, episode)
        );
        create index if not exists {ClosedTable}_team on {ClosedTable} (team_id, closed_at)
        """;

    /// <summary>Each command's receipt, once: written by the statement that stores the state applying the command
    /// (<see cref="IRecordsReceipts"/>), read back only for a retry the grain no longer holds in memory, deleted after
    /// the retry window. The time index is a BRIN: rows arrive in time order, and it costs next to nothing to keep.</summary>
    public const string ReceiptTable = "allocation_command_receipt";

    public static readonly string CreateReceiptTableSql = $"""
        create table if not exists {ReceiptTable}
        (
            grain_id text not null,
            request_id text not null,
            applied_at timestamptz not null,
            payload bytea not null,
            primary key (grain_id, request_id)
        );
        create index if not exists {ReceiptTable}_applied on {ReceiptTable} using brin (applied_at)
        """;

    /// <summary>How often expired receipts are deleted, and how many at most in one statement.</summary>
    private static readonly TimeSpan ReceiptPruneInterval = TimeSpan.FromMinutes(10);
    private const int ReceiptPruneBatch = 10_000;

    /// <summary>
    /// Creates the tables; adds the team column to a state table written before it existed and files each open child
    /// and worker already stored under its team (once: only when the column is added); and moves the closed-case lists
    /// of an earlier version, one state per team, to rows of their own.
    /// </summary>
    public static async Task EnsureSchemaAsync(NpgsqlConnection connection, IGrainStorageSerializer serializer, CancellationToken cancellationToken)
    {
        await EnsureStateTableAsync(connection, serializer, cancellationToken);
        await EnsureWorkerColumnAsync(connection, serializer, cancellationToken);
        await EnsureClosedTableAsync(connection, serializer, cancellationToken);
        await using var receipts = new NpgsqlCommand(CreateReceiptTableSql, connection);
        await receipts.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task EnsureClosedTableAsync(NpgsqlConnection connection, IGrainStorageSerializer serializer, CancellationToken cancellationToken)
    {
        // Once: the lists can only have been written before the table existed, and finding them reads the whole state table.
        await using (var exists = new NpgsqlCommand($"select to_regclass('{ClosedTable}') is not null", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand(CreateClosedTableSql, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var moved = new List<(string Team, ClosedCase Case)>();
        await using (var rows = new NpgsqlCommand(
            $"delete from {Table} where state_name = '{LegacyClosedCasesState.StateName}' returning grain_id, payload", connection, transaction))
        await using (var reader = await rows.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var team = KeyOf(reader.GetString(0));
                var legacy = serializer.Deserialize<LegacyClosedCasesState>(new BinaryData(await reader.GetFieldValueAsync<byte[]>(1, cancellationToken)));
                moved.AddRange((legacy?.Cases ?? []).Select(c => (team, c)));
            }
        }

        foreach (var (team, closed) in moved)
        {
            await using var insert = new NpgsqlCommand(
                $"insert into {ClosedTable} (child_id, episode, team_id, closed_at, payload) values ($1, $2, $3, $4, $5) on conflict do nothing", connection, transaction);
            // The lists kept no episode number: the child's version at closure (negated, apart from real episodes)
            // tells one of its closures from another.
            insert.Parameters.Add(new NpgsqlParameter { Value = closed.Summary.ChildId });
            insert.Parameters.Add(new NpgsqlParameter { Value = -(int)Math.Min(closed.Summary.Version, int.MaxValue) });
            insert.Parameters.Add(new NpgsqlParameter { Value = team });
            insert.Parameters.Add(new NpgsqlParameter { Value = closed.ClosedAt.ToUniversalTime() });
            insert.Parameters.Add(new NpgsqlParameter { Value = serializer.Serialize(closed).ToArray() });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Adds the worker column to a state table written before it existed, and files each allocated child already
    /// stored under its worker (once: only when the column is added). The places an earlier version stored in workers'
    /// own rows are not read: a child's row is the record of its place, and a place no child recorded was never held.</summary>
    private static async Task EnsureWorkerColumnAsync(NpgsqlConnection connection, IGrainStorageSerializer serializer, CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand(
            $"select exists (select 1 from information_schema.columns where table_name = '{Table}' and column_name = 'worker_id')", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                await using var index = new NpgsqlCommand(CreateWorkerIndexSql, connection);
                await index.ExecuteNonQueryAsync(cancellationToken);
                return;
            }
        }

        await AddColumnFromStatesAsync(connection, "worker_id",
            (stateName, payload) => stateName == ChildStateName ? serializer.Deserialize<ChildState>(payload)?.HeldBy : null,
            CreateWorkerIndexSql, cancellationToken);
    }

    private static async Task EnsureStateTableAsync(NpgsqlConnection connection, IGrainStorageSerializer serializer, CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand(
            $"select to_regclass('{Table}') is null or exists (select 1 from information_schema.columns where table_name = '{Table}' and column_name = 'team_id')", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                await using var create = new NpgsqlCommand(CreateTableSql, connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
                return;
            }
        }

        await AddColumnFromStatesAsync(connection, "team_id",
            (stateName, payload) => (stateName == ChildStateName ? serializer.Deserialize<ChildState>(payload) : serializer.Deserialize<SocialWorkerState>(payload) as ITeamMember)?.BoardTeam,
            CreateTeamIndexSql, cancellationToken);
    }

    /// <summary>
    /// Adds a text column to a state table written before it existed, fills it for each child and worker row from the
    /// stored state (<paramref name="valueOf"/>: the state's name and payload; null leaves it empty) and indexes it,
    /// in one transaction with the table locked, so two nodes starting together fill it once.
    /// </summary>
    private static async Task AddColumnFromStatesAsync(NpgsqlConnection connection, string column, Func<string, BinaryData, string?> valueOf,
        string createIndexSql, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var add = new NpgsqlCommand($"lock table {Table} in share row exclusive mode; alter table {Table} add column if not exists {column} text", connection, transaction))
        {
            await add.ExecuteNonQueryAsync(cancellationToken);
        }

        var filed = new List<(string GrainId, string StateName, string Value)>();
        await using (var rows = new NpgsqlCommand(
            $"select grain_id, state_name, payload from {Table} where state_name in ('{ChildStateName}', '{WorkerStateName}')", connection, transaction))
        await using (var reader = await rows.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (valueOf(reader.GetString(1), new BinaryData(await reader.GetFieldValueAsync<byte[]>(2, cancellationToken))) is { } value)
                {
                    filed.Add((reader.GetString(0), reader.GetString(1), value));
                }
            }
        }

        await using (var update = new NpgsqlCommand(
            $"update {Table} set {column} = f.value from unnest($1::text[], $2::text[], $3::text[]) as f (grain_id, state_name, value) where {Table}.grain_id = f.grain_id and {Table}.state_name = f.state_name",
            connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = filed.Select(f => f.GrainId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = filed.Select(f => f.StateName).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = filed.Select(f => f.Value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var index = new NpgsqlCommand(createIndexSql, connection, transaction))
        {
            await index.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private readonly string _name;
    private readonly NpgsqlDataSource _dataSource;
    private readonly IGrainStorageSerializer _serializer;
    private readonly GroupCommitOptions _options;
    private readonly ILogger _logger;
    private readonly GroupCommitQueue<PendingWrite, bool> _queue;
    private long _batches;
    private long _writes;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _pruning;
    private int _disposed;

    /// <param name="dataSource">Owned by this storage from now on, and disposed with it.</param>
    public GroupCommitGrainStorage(string name, NpgsqlDataSource dataSource, IGrainStorageSerializer serializer,
        GroupCommitOptions options, ILogger<GroupCommitGrainStorage> logger)
    {
        _name = name;
        _dataSource = dataSource;
        _serializer = serializer;
        _options = options;
        _logger = logger;
        _queue = new GroupCommitQueue<PendingWrite, bool>(options.MaxBatch, options.Writers, CommitAsync,
            (ex, count) => LogBatchFailed(_logger, ex, _name, count), "grain-state");
        _pruning = PruneReceiptsPeriodicallyAsync(_stopping.Token);
    }

    /// <summary>Batches committed and grain writes in them since start, to see how much grouping happens.</summary>
    public (long Batches, long Writes) Committed => (Interlocked.Read(ref _batches), Interlocked.Read(ref _writes));

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using (var command = _dataSource.CreateCommand($"select version, payload from {Table} where grain_id = $1 and state_name = $2"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = grainId.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                var version = reader.GetInt64(0);
                var payload = await reader.GetFieldValueAsync<byte[]>(1);
                grainState.State = _serializer.Deserialize<T>(new BinaryData(payload));
                grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                grainState.RecordExists = true;
                return;
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = _serializer.Serialize(grainState.State).ToArray();
        var expected = ExpectedVersion(grainState.ETag);
        var heldBy = (grainState.State as IHoldsPlace)?.HeldBy;
        var limit = heldBy is null ? null : (grainState.State as IHoldsPlace)?.PlaceLimit;
        // The limit holds whoever reserved the place: the worker's other stored places, counted under its lock.
        var guard = limit is null ? "" : $" and (select count(*) from {Table} held where held.worker_id = $5 and held.grain_id <> $1) < ${(expected is null ? 6 : 7)}";
        var write = expected is null
            ? $"insert into {Table} (grain_id, state_name, version, payload, team_id, worker_id) select $1, $2, 1, $3, $4, $5 where true{guard} on conflict do nothing"
            : $"update {Table} set version = version + 1, payload = $3, team_id = $4, worker_id = $5, modified_at = now() where grain_id = $1 and state_name = $2 and version = $6{guard}";
        var receipts = (grainState.State as IRecordsReceipts)?.Receipting is { Count: > 0 } recorded
            ? recorded.GroupBy(r => r.RequestId, StringComparer.Ordinal).Select(g => g.Last()).ToList()
            : null;
        var parameter = (expected is null ? 6 : 7) + (limit is null ? 0 : 1);
        // A command's audit entry rides with its receipt (a write without receipts records no command).
        var audit = receipts is not null && grainState.State is IRecordsAudit { Auditing: { } draft } ? AuditEntryOf(draft) : null;
        var command = new NpgsqlBatchCommand(receipts is null ? write : $"""
            with stored as ({write} returning grain_id){(audit is null ? "" : $",\n{AuditInsert(parameter + 3)}")}
            insert into {ReceiptTable} (grain_id, request_id, applied_at, payload)
            select stored.grain_id, r.request_id, r.applied_at, r.payload
            from stored, unnest(${parameter}::text[], ${parameter + 1}::timestamptz[], ${parameter + 2}::bytea[]) as r (request_id, applied_at, payload)
            on conflict (grain_id, request_id) do update set applied_at = excluded.applied_at, payload = excluded.payload
            """);
        var id = grainId.ToString();
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)(grainState.State as ITeamMember)?.BoardTeam ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)heldBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        if (expected is { } version)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        }

        if (limit is { } places)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = places, NpgsqlDbType = NpgsqlDbType.Integer });
        }

        if (receipts is not null)
        {
            // With the state's statement: a stale write stores neither (and its command then has no receipt).
            command.Parameters.Add(new NpgsqlParameter { Value = receipts.Select(r => r.RequestId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = receipts.Select(r => r.AppliedAt.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = receipts.Select(r => _serializer.Serialize(r).ToArray()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        }

        if (audit is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = audit.At.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            foreach (var text in (string?[])[audit.UserId, audit.Roles, audit.Action, audit.RequestId, audit.TraceId, audit.ChildId, audit.TeamId,
                         audit.WorkerId, audit.OtherTeamId, audit.OtherWorkerId, audit.Reason, audit.OverrideReason, audit.DedupKey()])
            {
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)text ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            }
        }

        var newVersion = (expected ?? 0) + 1;
        await Enqueue(new PendingWrite(id, command, Closure(grainState.State, id, stateName, newVersion), limit is null ? null : LockKey(heldBy!)),
            stateName, grainId, grainState.ETag);
        grainState.ETag = newVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
        if (audit is not null)
        {
            ((IRecordsAudit)grainState.State!).AuditStored = true;
        }
    }

    /// <summary>The accepted command's entry as the audit trail stores it (texts clipped as every entry's are).</summary>
    private static AuditEntry AuditEntryOf(AuditDraft draft) => new AuditEntry(
        0, draft.At ?? DateTimeOffset.UtcNow, draft.UserId, draft.Roles, draft.Action, AuditOutcome.Accepted, StatusCodes.Status200OK,
        draft.RequestId, draft.TraceId, draft.ChildId, draft.TeamId, draft.WorkerId, draft.OtherTeamId, draft.OtherWorkerId,
        null, null, draft.Reason, draft.OverrideReason, null).Clipped();

    /// <summary>The audit entry's insert, as a data-modifying part of the state's statement: stored only with the
    /// state (a stale write stores neither), and once (a repeated decision is skipped by its dedup key, as the
    /// trail's own inserts skip it). Parameters from <paramref name="first"/>: the time, then the texts in order.</summary>
    private static string AuditInsert(int first)
    {
        var texts = string.Join(", ", Enumerable.Range(first + 1, 13).Select(i => $"${i}::text"));
        return $"""
            audited as (
                insert into allocation_audit (at, user_id, roles, action, request_id, trace_id, child_id, team_id, worker_id,
                                              other_team_id, other_worker_id, reason, override_reason, dedup_key, outcome, status)
                select ${first}::timestamptz, {texts}, 'Accepted', 200 from stored
                on conflict ((md5(dedup_key)::uuid)) do nothing)
            """;
    }

    /// <summary>The receipt stored for the grain's command with this request id: one read of the primary key.</summary>
    public async Task<CommandReceipt?> FindReceipt(GrainId grainId, string requestId)
    {
        await using var command = _dataSource.CreateCommand($"select payload from {ReceiptTable} where grain_id = $1 and request_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = grainId.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = requestId, NpgsqlDbType = NpgsqlDbType.Text });
        return await command.ExecuteScalarAsync() is byte[] payload ? _serializer.Deserialize<CommandReceipt>(new BinaryData(payload)) : null;
    }

    /// <summary>Deletes the receipts applied before <paramref name="appliedBefore"/>, a batch at a time; returns how many.</summary>
    internal async Task<long> PruneReceiptsAsync(DateTimeOffset appliedBefore, CancellationToken cancellationToken)
    {
        long total = 0;
        int deleted;
        do
        {
            await using var command = _dataSource.CreateCommand(
                $"delete from {ReceiptTable} where ctid in (select ctid from {ReceiptTable} where applied_at < $1 limit {ReceiptPruneBatch})");
            command.Parameters.Add(new NpgsqlParameter { Value = appliedBefore, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
        }
        while (deleted == ReceiptPruneBatch);

        return total;
    }

    /// <summary>Deletes the receipts kept longer than <see cref="ICommandReceipts.KeptFor"/>, a batch at a time,
    /// every <see cref="ReceiptPruneInterval"/>; each silo does, and a receipt is deleted once.</summary>
    private async Task PruneReceiptsPeriodicallyAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(ReceiptPruneInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    await PruneReceiptsAsync(DateTimeOffset.UtcNow - ICommandReceipts.KeptFor, stopping);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    LogPruneFailed(_logger, e, _name);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// The closure a state records, as a row written after the state's own in the same batch, and only if that write
    /// stored it: a stale write (another version stored) records nothing. <c>xmin</c> is the transaction that wrote the
    /// row version, so the check is this transaction's write, not an equal version written by another.
    /// </summary>
    private NpgsqlBatchCommand? Closure<T>(T state, string grainId, string stateName, long version)
    {
        if (state is not IRecordsClosure { Closing: { } closing } closure)
        {
            return null;
        }

        var command = new NpgsqlBatchCommand($"""
            insert into {ClosedTable} (child_id, episode, team_id, closed_at, payload)
            select $1, $2, $3, $4, $5
            where exists (select 1 from {Table} where grain_id = $6 and state_name = $7 and version = $8
                          and xmin::text::bigint = txid_current() % 4294967296)
            on conflict do nothing
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = closing.Summary.ChildId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = closure.Episode, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = closure.TeamId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = closing.ClosedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = _serializer.Serialize(closing).ToArray(), NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = grainId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        return command;
    }

    /// <summary>The cases the team closed since the given time, read by the team's index.</summary>
    public async Task<IReadOnlyList<ClosedCase>> ReadClosed(string teamId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        var cases = new List<ClosedCase>();
        await using var command = _dataSource.CreateCommand($"select payload from {ClosedTable} where team_id = $1 and closed_at >= $2 order by closed_at");
        command.Parameters.Add(new NpgsqlParameter { Value = teamId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = since.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            cases.Add(_serializer.Deserialize<ClosedCase>(new BinaryData(await reader.GetFieldValueAsync<byte[]>(0, cancellationToken)))!);
        }

        return cases;
    }

    /// <summary>Whether the grain's state has a row: one read of the primary key.</summary>
    public async Task<bool> IsStored(GrainId grainId, string stateName)
    {
        await using var command = _dataSource.CreateCommand($"select exists (select 1 from {Table} where grain_id = $1 and state_name = $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = grainId.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The places the worker's allocated children hold, from their rows, read by the worker index.</summary>
    public async Task<IReadOnlyList<CaseEntry>> ReadHeld(string workerId, CancellationToken cancellationToken = default)
    {
        var places = new List<CaseEntry>();
        await using var command = _dataSource.CreateCommand($"select grain_id, payload from {Table} where worker_id = $1 and state_name = '{ChildStateName}'");
        command.Parameters.Add(new NpgsqlParameter { Value = workerId, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var child = _serializer.Deserialize<ChildState>(new BinaryData(await reader.GetFieldValueAsync<byte[]>(1, cancellationToken)))!;
            if (HeldPlaces.PlaceOf(KeyOf(reader.GetString(0)), child) is { } place)
            {
                places.Add(place);
            }
        }

        return places;
    }

    /// <summary>The rows of the team's open children and of its workers, read in one query.</summary>
    public async Task<TeamFacts> Read(string teamId, CancellationToken cancellationToken = default)
    {
        var children = new List<KeyValuePair<string, ChildState>>();
        var workers = new List<KeyValuePair<string, SocialWorkerState>>();
        await using var command = _dataSource.CreateCommand($"select grain_id, state_name, payload from {Table} where team_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = teamId, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = KeyOf(reader.GetString(0));
            var payload = new BinaryData(await reader.GetFieldValueAsync<byte[]>(2, cancellationToken));
            switch (reader.GetString(1))
            {
                case ChildStateName: children.Add(new(key, _serializer.Deserialize<ChildState>(payload)!)); break;
                case WorkerStateName: workers.Add(new(key, _serializer.Deserialize<SocialWorkerState>(payload)!)); break;
            }
        }

        return new TeamFacts(children, workers);
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (ExpectedVersion(grainState.ETag) is { } version)
        {
            var command = new NpgsqlBatchCommand($"delete from {Table} where grain_id = $1 and state_name = $2 and version = $3");
            var id = grainId.ToString();
            command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
            await Enqueue(new PendingWrite(id, command), stateName, grainId, grainState.ETag);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed as the grain storage and as each reader it also is: once.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _pruning;
        _stopping.Dispose();
        // Writes already queued are still committed; the loops end once the queue is empty.
        await _queue.DisposeAsync();
        await _dataSource.DisposeAsync();
        var (batches, writes) = Committed;
        LogStopped(_logger, _name, writes, batches, batches == 0 ? 0 : (double)writes / batches);
    }

    private static long? ExpectedVersion(string? etag) =>
        etag is null ? null
        : long.TryParse(etag, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v
        : throw new InconsistentStateException($"ETag '{etag}' is not a version of {Table}.");

    private async Task Enqueue(PendingWrite write, string stateName, GrainId grainId, string? etag)
    {
        if (!_queue.TryEnqueue(write, out var committed))
        {
            throw new ObjectDisposedException(nameof(GroupCommitGrainStorage), "The grain storage has stopped.");
        }

        if (!await committed)
        {
            throw new InconsistentStateException(
                $"Stale write of '{stateName}' for grain {grainId}: the stored version is no longer {etag ?? "(none)"}.", "(unknown)", etag ?? "(none)");
        }
    }

    /// <summary>Commits the writes in one transaction; each one's result is whether it changed its row (false: stale).</summary>
    private async Task<IReadOnlyList<bool>> CommitAsync(IReadOnlyList<PendingWrite> writes)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        // Without an explicit transaction PostgreSQL runs the statements of one batch as a single implicit transaction.
        await using var batch = new NpgsqlBatch(connection);
        // The workers' locks first, then the rows, each always in the same order, so two batches in flight never
        // deadlock on each other. A lock is held to the end of the batch's transaction.
        foreach (var key in writes.Select(w => w.LockKey).OfType<long>().Distinct().Order())
        {
            var take = new NpgsqlBatchCommand("select pg_advisory_xact_lock($1)");
            take.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Bigint });
            batch.BatchCommands.Add(take);
        }

        foreach (var write in writes.OrderBy(w => w.GrainId, StringComparer.Ordinal))
        {
            batch.BatchCommands.Add(write.Command);
            if (write.Then is { } then)
            {
                batch.BatchCommands.Add(then);
            }
        }

        await batch.ExecuteNonQueryAsync();
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, writes.Count);
        // A state's statement stores its row and its receipts (one or more rows); none when the write is stale.
        return writes.Select(w => w.Command.RecordsAffected >= 1).ToList();
    }

    /// <summary>A queued write: its grain (the order rows are locked in), its statement, one to run after it, and the
    /// advisory lock it needs first (a worker's, for a place taken under a limit).</summary>
    private sealed record PendingWrite(string GrainId, NpgsqlBatchCommand Command, NpgsqlBatchCommand? Then = null, long? LockKey = null);

    /// <summary>The grain's key (the child's, worker's or team's id) from its stored grain id ("type/key").</summary>
    private static string KeyOf(string grainId) => grainId[(grainId.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>A worker's advisory lock: the same 64 bits on every silo.</summary>
    internal static long LockKey(string workerId) =>
        BitConverter.ToInt64(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes("worker-place:" + workerId)));

    [LoggerMessage(EventId = 7201, Level = LogLevel.Error, Message = "Grain storage {Name}: a batch of {Count} writes failed; none of it was committed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string name, int count);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Warning, Message = "Grain storage {Name}: deleting expired command receipts failed; the next pass tries again")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception, string name);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Information, Message = "Grain storage {Name} stopped: {Writes} writes committed in {Batches} batches ({PerBatch:0.0} per batch)")]
    private static partial void LogStopped(ILogger logger, string name, long writes, long batches, double perBatch);
}
