using Allocation.Service.Persistence;
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
    private readonly GroupCommitQueue<AuditEntry, bool> _queue;

    public PostgresAuditTrail(string connectionString, ILogger<PostgresAuditTrail> logger)
    {
        _dataSource = PostgresDataSource.Create(connectionString);
        _logger = logger;
        _queue = new GroupCommitQueue<AuditEntry, bool>(MaxBatch, writers: 1, InsertAsync, (e, count) => LogWriteFailed(e, count), "audit");
    }

    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        if (!_queue.TryEnqueue(entry, out var committed))
        {
            throw new InvalidOperationException("The audit trail is shutting down.");
        }

        return committed.WaitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand();
        var where = new List<string>();
        Where("sequence > @after", "after", query.After);
        Where("child_id = @child", "child", query.ChildId);
        Where("(worker_id = @worker or other_worker_id = @worker)", "worker", query.WorkerId);
        Where("(team_id = @team or (other_team_id = @team and outcome = 'Accepted'))", "team", query.TeamId);
        Where("at >= @from", "from", query.From);
        Where("at < @to", "to", query.To);
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

        void Where(string clause, string parameter, object? value)
        {
            if (value is not null)
            {
                where.Add(clause);
                command.Parameters.AddWithValue(parameter, value);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    /// <summary>Inserts the entries in one statement (one transaction); a repeated decision is skipped by its dedup key.</summary>
    private async Task<IReadOnlyList<bool>> InsertAsync(IReadOnlyList<AuditEntry> entries)
    {
        await using var command = _dataSource.CreateCommand("""
            insert into allocation_audit (at, user_id, roles, action, outcome, status, request_id, trace_id, child_id, team_id, worker_id,
                                          other_team_id, other_worker_id, rule, figures, reason, override_reason, detail, dedup_key)
            select * from unnest(@at, @user_id, @roles, @action, @outcome, @status, @request_id, @trace_id, @child_id, @team_id, @worker_id,
                                 @other_team_id, @other_worker_id, @rule, @figures, @reason, @override_reason, @detail, @dedup_key)
            on conflict ((md5(dedup_key)::uuid)) do nothing
            """);
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
        return entries.Select(_ => true).ToList();

        void Texts(string name, Func<AuditEntry, string?> field) =>
            command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entries.Select(field).ToArray() });
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Error, Message = "Writing {Count} audit entries failed; their commands answer 503 and are recorded when retried")]
    private partial void LogWriteFailed(Exception exception, int count);
}
