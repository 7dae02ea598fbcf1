using System.Reflection;
using Npgsql;

namespace Allocation.Service.Persistence;

/// <summary>
/// Creates the PostgreSQL schema the silo needs: the Orleans AdoNet tables and queries for clustering,
/// grain storage and reminders (scripts in seeds/sql, embedded in this assembly).
/// </summary>
/// <remarks>
/// Every pending step runs in one transaction under a transaction-scoped advisory lock, so two processes
/// starting together never race, and a failure leaves the database as it was. Applied steps are recorded in
/// <c>allocation_schema_version</c>; calling <see cref="ApplyAsync"/> again is a no-op.
/// </remarks>
public static partial class PostgresSchema
{
    /// <summary>Our own bookkeeping table: one row per applied step.</summary>
    public const string VersionTable = "allocation_schema_version";

    /// <summary>Advisory lock key ("allocsch" in ASCII), scoped to the current database.</summary>
    private const long LockKey = 0x616C6C6F63736368;

    private static readonly TimeSpan _lockTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Schema steps in order. Add new steps at the end with the next version; never edit an applied one.</summary>
    private static readonly SchemaStep[] _steps =
    [
        new(1, "Orleans AdoNet: main, clustering, persistence, reminders",
        [
            "sql.01-PostgreSQL-Main.sql",
            "sql.02-PostgreSQL-Clustering.sql",
            "sql.03-PostgreSQL-Persistence.sql",
            "sql.04-PostgreSQL-Reminders.sql",
        ]),
        new(2, "Nightly threshold reports", ["sql.05-ThresholdReports.sql"]),
        new(3, "Audit trail (append-only)", ["sql.06-AuditTrail.sql"]),
        new(4, "Children and workers behind each team's KPI figures", ["sql.07-KpiBehind.sql"]),
        new(5, "Nightly pressure forecasts", ["sql.08-PressureForecasts.sql"]),
        new(6, "Audit trail: the dedup key's uniqueness by its digest, a block-range index on time", ["sql.09-AuditTrailIndexes.sql"]),
    ];

    /// <summary>The newest schema version this build knows.</summary>
    public static int LatestVersion => _steps[^1].Version;

    public static async Task ApplyAsync(string connectionString, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(logger);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await ExecuteAsync(connection, transaction, $"select pg_advisory_xact_lock({LockKey})", _lockTimeout, cancellationToken);
        await ExecuteAsync(connection, transaction,
            $"""
            create table if not exists {VersionTable}
            (
                version integer primary key,
                description text not null,
                applied_at timestamptz not null default now()
            )
            """,
            timeout: null, cancellationToken);

        var current = await CurrentVersionAsync(connection, transaction, cancellationToken);
        if (current == 0 && await OrleansTablesExistAsync(connection, transaction, cancellationToken))
        {
            // Someone ran the Orleans scripts by hand before this applier existed: adopt them rather than fail on CREATE TABLE.
            var adopted = _steps[0];
            await RecordAsync(connection, transaction, adopted, cancellationToken);
            current = adopted.Version;
            LogAdopted(logger, adopted.Version, connection.Database);
        }

        var pending = _steps.Where(s => s.Version > current).ToArray();
        if (pending.Length == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            LogUpToDate(logger, connection.Database, current);
            return;
        }

        foreach (var step in pending)
        {
            foreach (var resource in step.Resources)
            {
                LogApplyingScript(logger, resource, step.Version, connection.Database);
                await ExecuteAsync(connection, transaction, ReadResource(resource), timeout: null, cancellationToken);
            }

            await RecordAsync(connection, transaction, step, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogApplied(logger, connection.Database, current, pending[^1].Version);
    }

    /// <summary>True when a connection opens and answers <c>select 1</c>; false on any failure other than cancellation.</summary>
    public static async Task<bool> CanConnectAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"select coalesce(max(version), 0) from {VersionTable}", connection, transaction);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<bool> OrleansTablesExistAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select to_regclass('orleansquery') is not null", connection, transaction);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SchemaStep step, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"insert into {VersionTable} (version, description) values ($1, $2)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = step.Version });
        command.Parameters.Add(new NpgsqlParameter { Value = step.Description });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        if (timeout is { } t)
        {
            command.CommandTimeout = (int)t.TotalSeconds;
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string ReadResource(string name)
    {
        var assembly = typeof(PostgresSchema).Assembly;
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException(
                $"Embedded SQL script '{name}' is missing from {assembly.GetName().Name}. Found: {string.Join(", ", assembly.GetManifestResourceNames())}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private sealed record SchemaStep(int Version, string Description, IReadOnlyList<string> Resources);

    [LoggerMessage(EventId = 1100, EventName = "SchemaUpToDate", Level = LogLevel.Information,
        Message = "PostgreSQL schema of database {Database} is up to date at version {Version}")]
    private static partial void LogUpToDate(ILogger logger, string database, int version);

    [LoggerMessage(EventId = 1101, EventName = "SchemaScriptApplying", Level = LogLevel.Information,
        Message = "Applying SQL script {Script} (schema version {Version}) to database {Database}")]
    private static partial void LogApplyingScript(ILogger logger, string script, int version, string database);

    [LoggerMessage(EventId = 1102, EventName = "SchemaApplied", Level = LogLevel.Information,
        Message = "PostgreSQL schema of database {Database} upgraded from version {FromVersion} to {ToVersion}")]
    private static partial void LogApplied(ILogger logger, string database, int fromVersion, int toVersion);

    [LoggerMessage(EventId = 1103, EventName = "SchemaAdopted", Level = LogLevel.Warning,
        Message = "Orleans tables already existed in database {Database} without a schema version; recorded them as version {Version} without re-running the scripts")]
    private static partial void LogAdopted(ILogger logger, int version, string database);
}
