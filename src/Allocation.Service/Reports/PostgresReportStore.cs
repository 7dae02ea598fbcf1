using System.Text.Json;
using Allocation.Grains.Kpis;
using Npgsql;
using NpgsqlTypes;

namespace Allocation.Service.Reports;

/// <summary>
/// Reports in PostgreSQL (tables from schema step 2): the whole report as JSON, plus one row per KPI per scope
/// so a KPI's history is read without loading every night's report.
/// </summary>
public sealed class PostgresReportStore(string connectionString) : IReportStore
{
    /// <summary>The authority's own KPIs; team ids are never empty.</summary>
    private const string AuthorityScope = "";

    /// <summary>Advisory lock key ("thrshrep"): two runs saving the same night take turns.</summary>
    private const long SaveLockKey = 0x7468727368726570;

    public async Task SaveAsync(ThresholdReport report, IReadOnlyList<KpiBehind>? behind = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"select pg_advisory_xact_lock({SaveLockKey})", cancellationToken);
        await ExecuteAsync(connection, transaction, "delete from threshold_report where report_date = $1", cancellationToken, report.Date);
        await ExecuteAsync(connection, transaction, "insert into threshold_report (report_date, run_at, report) values ($1, $2, $3)",
            cancellationToken, report.Date, report.RunAt.UtcDateTime, new NpgsqlParameter { Value = JsonSerializer.Serialize(report, ReportJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });

        await using (var import = await connection.BeginBinaryImportAsync(
            "copy threshold_kpi_value (report_date, scope, kpi, value, target, rag) from stdin (format binary)", cancellationToken))
        {
            foreach (var (scope, kpis) in report.Teams.Select(t => (t.TeamId, t.Kpis)).Prepend((AuthorityScope, report.Authority)))
            {
                foreach (var kpi in kpis)
                {
                    await import.StartRowAsync(cancellationToken);
                    await import.WriteAsync(report.Date, NpgsqlDbType.Date, cancellationToken);
                    await import.WriteAsync(scope, NpgsqlDbType.Text, cancellationToken);
                    await import.WriteAsync(kpi.Id, NpgsqlDbType.Text, cancellationToken);
                    await WriteNullableAsync(import, kpi.Value, cancellationToken);
                    await WriteNullableAsync(import, kpi.Target, cancellationToken);
                    await import.WriteAsync(kpi.Rag.ToString(), NpgsqlDbType.Text, cancellationToken);
                }
            }

            await import.CompleteAsync(cancellationToken);
        }

        await using (var import = await connection.BeginBinaryImportAsync(
            "copy threshold_kpi_behind (report_date, team_id, kpi, items) from stdin (format binary)", cancellationToken))
        {
            foreach (var b in behind ?? [])
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(report.Date, NpgsqlDbType.Date, cancellationToken);
                await import.WriteAsync(b.TeamId, NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(b.KpiId, NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(JsonSerializer.Serialize(b.Items, ReportJson.Options), NpgsqlDbType.Jsonb, cancellationToken);
            }

            await import.CompleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<KpiBehind>> GetBehindAsync(DateOnly date, string kpiId, string? teamId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            select team_id, items::text from threshold_kpi_behind
            where report_date = $1 and kpi = $2 and ($3::text is null or team_id = $3)
            order by team_id
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = date });
        command.Parameters.Add(new NpgsqlParameter { Value = kpiId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)teamId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new List<KpiBehind>();
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new KpiBehind(reader.GetString(0), kpiId,
                JsonSerializer.Deserialize<List<BehindItem>>(reader.GetString(1), ReportJson.Options) ?? []));
        }

        return found;
    }

    public Task<ThresholdReport?> GetAsync(DateOnly date, CancellationToken cancellationToken = default) =>
        ReadReportAsync("select report from threshold_report where report_date = $1", cancellationToken, date);

    public Task<ThresholdReport?> GetLatestAsync(CancellationToken cancellationToken = default) =>
        ReadReportAsync("select report from threshold_report order by report_date desc limit 1", cancellationToken);

    public Task<ThresholdReport?> GetLatestBeforeAsync(DateOnly date, CancellationToken cancellationToken = default) =>
        ReadReportAsync("select report from threshold_report where report_date < $1 order by report_date desc limit 1", cancellationToken, date);

    public async Task<IReadOnlyList<DateOnly>> GetDatesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("select report_date from threshold_report order by report_date", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var dates = new List<DateOnly>();
        while (await reader.ReadAsync(cancellationToken))
        {
            dates.Add(reader.GetFieldValue<DateOnly>(0));
        }

        return dates;
    }

    public async Task<IReadOnlyList<KpiPoint>> GetHistoryAsync(string kpiId, string? teamId, DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            select report_date, value, target, rag from threshold_kpi_value
            where scope = $1 and kpi = $2 and report_date between $3 and $4
            order by report_date
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = teamId ?? AuthorityScope });
        command.Parameters.Add(new NpgsqlParameter { Value = kpiId });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var points = new List<KpiPoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new KpiPoint(
                reader.GetFieldValue<DateOnly>(0),
                reader.IsDBNull(1) ? null : reader.GetDecimal(1),
                reader.IsDBNull(2) ? null : reader.GetDecimal(2),
                Enum.Parse<Rag>(reader.GetString(3))));
        }

        return points;
    }

    private async Task<ThresholdReport?> ReadReportAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var json = await command.ExecuteScalarAsync(cancellationToken) as string;
        return json is null ? null : JsonSerializer.Deserialize<ThresholdReport>(json, ReportJson.Options);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var p in parameters)
        {
            command.Parameters.Add(p as NpgsqlParameter ?? new NpgsqlParameter { Value = p });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter import, decimal? value, CancellationToken cancellationToken) =>
        value is { } v ? import.WriteAsync(v, NpgsqlDbType.Numeric, cancellationToken) : import.WriteNullAsync(cancellationToken);
}
