using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

namespace Allocation.Service.Audit;

/// <summary>
/// The audit trail in PostgreSQL (<c>allocation_audit</c>, append-only by trigger). Appends are group-committed: one
/// writer takes every entry waiting and inserts them in one statement, one transaction, and each caller's task
/// completes when that transaction has committed. Many commands at once cost one commit, not one each.
/// </summary>
public sealed partial class PostgresAuditTrail : IAuditTrail, IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresAuditTrail> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public PostgresAuditTrail(string connectionString, ILogger<PostgresAuditTrail> logger)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(entry, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The audit trail is shutting down.");
        }

        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand();
        var where = new List<string> { "sequence > @after" };
        command.Parameters.AddWithValue("after", query.After);
        if (query.ChildId is { } child)
        {
            where.Add("child_id = @child");
            command.Parameters.AddWithValue("child", child);
        }

        if (query.WorkerId is { } worker)
        {
            where.Add("(worker_id = @worker or other_worker_id = @worker)");
            command.Parameters.AddWithValue("worker", worker);
        }

        if (query.TeamId is { } team)
        {
            where.Add("(team_id = @team or other_team_id = @team)");
            command.Parameters.AddWithValue("team", team);
        }

        if (query.From is { } from)
        {
            where.Add("at >= @from");
            command.Parameters.AddWithValue("from", from);
        }

        if (query.To is { } to)
        {
            where.Add("at < @to");
            command.Parameters.AddWithValue("to", to);
        }

        command.Parameters.AddWithValue("limit", query.Limit);
        command.CommandText = $"""
            select sequence, at, user_id, roles, action, outcome, status, request_id, trace_id, child_id, team_id, worker_id,
                   other_team_id, other_worker_id, rule, figures, reason, override_reason, detail
            from allocation_audit where {string.Join(" and ", where)} order by sequence limit @limit
            """;
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            entries.Add(new AuditEntry(
                reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                Enum.Parse<AuditOutcome>(reader.GetString(5)), reader.GetInt32(6), Text(7), Text(8), Text(9), Text(10), Text(11),
                Text(12), Text(13), Text(14), Text(15), Text(16), Text(17), Text(18)));
        }

        return entries;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _dataSource.DisposeAsync();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await InsertAsync(batch);
                batch.ForEach(p => p.Done.TrySetResult());
            }
            catch (Exception e)
            {
                LogWriteFailed(e, batch.Count);
                batch.ForEach(p => p.Done.TrySetException(e));
            }

            batch.Clear();
        }
    }

    private async Task InsertAsync(List<Pending> batch)
    {
        await using var command = _dataSource.CreateCommand("""
            insert into allocation_audit (at, user_id, roles, action, outcome, status, request_id, trace_id, child_id, team_id, worker_id,
                                          other_team_id, other_worker_id, rule, figures, reason, override_reason, detail, dedup_key)
            select * from unnest(@at, @user_id, @roles, @action, @outcome, @status, @request_id, @trace_id, @child_id, @team_id, @worker_id,
                                 @other_team_id, @other_worker_id, @rule, @figures, @reason, @override_reason, @detail, @dedup_key)
            on conflict (dedup_key) do nothing
            """);
        var entries = batch.Select(p => p.Entry).ToList();
        command.Parameters.Add(new NpgsqlParameter("at", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = entries.Select(e => e.At.ToUniversalTime()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = entries.Select(e => e.Status).ToArray() });
        Texts("user_id", e => e.UserId);
        Texts("roles", e => e.Roles);
        Texts("action", e => e.Action);
        Texts("outcome", e => e.Outcome.ToString());
        Texts("request_id", e => e.RequestId);
        Texts("trace_id", e => e.TraceId);
        Texts("child_id", e => e.ChildId);
        Texts("team_id", e => e.TeamId);
        Texts("worker_id", e => e.WorkerId);
        Texts("other_team_id", e => e.OtherTeamId);
        Texts("other_worker_id", e => e.OtherWorkerId);
        Texts("rule", e => e.Rule);
        Texts("figures", e => e.Figures);
        Texts("reason", e => e.Reason);
        Texts("override_reason", e => e.OverrideReason);
        Texts("detail", e => e.Detail);
        Texts("dedup_key", e => e.DedupKey());
        await command.ExecuteNonQueryAsync();

        void Texts(string name, Func<AuditEntry, string?> field) =>
            command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entries.Select(field).ToArray() });
    }

    private sealed record Pending(AuditEntry Entry, TaskCompletionSource Done);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Error, Message = "Writing {Count} audit entries failed; their commands answer 503 and are recorded when retried")]
    private partial void LogWriteFailed(Exception exception, int count);
}
