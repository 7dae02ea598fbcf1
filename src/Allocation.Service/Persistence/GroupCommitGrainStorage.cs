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
/// State kept by the Orleans AdoNet provider before this one was used is read from there the first time a grain
/// activates, and written here from then on.
/// </remarks>
public sealed partial class GroupCommitGrainStorage : IGrainStorage, IAsyncDisposable
{
    public const string Kind = "GroupCommit";

    public const string Table = "allocation_grain_state";

    /// <summary>Creates the table if it is missing (idempotent, safe for several silos starting together).</summary>
    public static readonly string CreateTableSql = $"""
        create table if not exists {Table}
        (
            grain_id text not null,
            state_name text not null,
            version bigint not null,
            payload bytea not null,
            modified_at timestamptz not null default now(),
            primary key (grain_id, state_name)
        ) with (fillfactor = 80)
        """;

    private readonly string _name;
    private readonly NpgsqlDataSource _dataSource;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IGrainStorage? _previous;
    private readonly GroupCommitOptions _options;
    private readonly ILogger _logger;
    private readonly GroupCommitQueue<PendingWrite, bool> _queue;
    private readonly Lazy<Task<bool>> _previousHasRows;
    private long _batches;
    private long _writes;

    /// <param name="dataSource">Owned by this storage from now on, and disposed with it.</param>
    public GroupCommitGrainStorage(string name, NpgsqlDataSource dataSource, IGrainStorageSerializer serializer, IGrainStorage? previous,
        GroupCommitOptions options, ILogger<GroupCommitGrainStorage> logger)
    {
        _name = name;
        _dataSource = dataSource;
        _serializer = serializer;
        _previous = previous;
        _options = options;
        _logger = logger;
        _previousHasRows = new(PreviousHasRowsAsync);
        _queue = new GroupCommitQueue<PendingWrite, bool>(options.MaxBatch, options.Writers, CommitAsync,
            (ex, count) => LogBatchFailed(_logger, ex, _name, count), "grain-state");
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

        if (_previous is not null && await _previousHasRows.Value)
        {
            await _previous.ReadStateAsync(stateName, grainId, grainState);
            if (grainState.RecordExists)
            {
                // Kept by the previous provider: the first write here inserts the row, so it starts without a version.
                grainState.ETag = null;
                grainState.RecordExists = false;
                LogReadFromPrevious(_logger, _name, grainId.ToString());
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
        var command = expected is null
            ? new NpgsqlBatchCommand($"insert into {Table} (grain_id, state_name, version, payload) values ($1, $2, 1, $3) on conflict do nothing")
            : new NpgsqlBatchCommand($"update {Table} set version = version + 1, payload = $3, modified_at = now() where grain_id = $1 and state_name = $2 and version = $4");
        var id = grainId.ToString();
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
        if (expected is { } version)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Bigint });
        }

        await Enqueue(new PendingWrite(id, command), stateName, grainId, grainState.ETag);
        var newVersion = (expected ?? 0) + 1;
        grainState.ETag = newVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
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
        // Rows always locked in the same order, so two batches in flight never deadlock on each other.
        foreach (var write in writes.OrderBy(w => w.GrainId, StringComparer.Ordinal))
        {
            batch.BatchCommands.Add(write.Command);
        }

        await batch.ExecuteNonQueryAsync();
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, writes.Count);
        return writes.Select(w => w.Command.RecordsAffected == 1).ToList();
    }

    private async Task<bool> PreviousHasRowsAsync()
    {
        await using var command = _dataSource.CreateCommand("select to_regclass('orleansstorage') is not null and exists (select 1 from orleansstorage)");
        try
        {
            return (bool)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException)
        {
            return false;
        }
    }

    /// <summary>A queued write: its grain (the order rows are locked in) and its statement.</summary>
    private sealed record PendingWrite(string GrainId, NpgsqlBatchCommand Command);

    [LoggerMessage(EventId = 7201, Level = LogLevel.Error, Message = "Grain storage {Name}: a batch of {Count} writes failed; none of it was committed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string name, int count);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Information, Message = "Grain storage {Name} stopped: {Writes} writes committed in {Batches} batches ({PerBatch:0.0} per batch)")]
    private static partial void LogStopped(ILogger logger, string name, long writes, long batches, double perBatch);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Debug, Message = "Grain storage {Name}: state of {GrainId} read from the previous provider")]
    private static partial void LogReadFromPrevious(ILogger logger, string name, string grainId);
}
