using System.Text.Json;
using Allocation.Grains.Advice;
using Npgsql;
using NpgsqlTypes;

namespace Allocation.Service.Reports;

/// <summary>Each night's pressure forecasts (the authority's and each team's), kept so they can be scored against
/// what then happened. A re-run for the same UK date replaces that night's forecasts.</summary>
public interface IForecastStore
{
    Task SaveAsync(DateOnly date, IReadOnlyList<TeamForecast> forecasts, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TeamForecast>> GetAsync(DateOnly date, CancellationToken cancellationToken = default);
}

public sealed class InMemoryForecastStore : IForecastStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<DateOnly, IReadOnlyList<TeamForecast>> _forecasts = [];

    public Task SaveAsync(DateOnly date, IReadOnlyList<TeamForecast> forecasts, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _forecasts[date] = forecasts;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<TeamForecast>> GetAsync(DateOnly date, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_forecasts.GetValueOrDefault(date) ?? []);
        }
    }
}

/// <summary>Forecasts in PostgreSQL (schema step 5): one row per night and scope ('' for the authority).</summary>
public sealed class PostgresForecastStore(string connectionString) : IForecastStore
{
    public async Task SaveAsync(DateOnly date, IReadOnlyList<TeamForecast> forecasts, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var delete = new NpgsqlCommand("delete from pressure_forecast where forecast_date = $1", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = date });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var forecast in forecasts)
        {
            await using var insert = new NpgsqlCommand(
                "insert into pressure_forecast (forecast_date, scope, run_at, forecast) values ($1, $2, $3, $4)", connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter { Value = date });
            insert.Parameters.Add(new NpgsqlParameter { Value = forecast.TeamId == ForecastApiIds.Authority ? "" : forecast.TeamId });
            insert.Parameters.Add(new NpgsqlParameter { Value = forecast.At.UtcDateTime });
            insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(forecast, ReportJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TeamForecast>> GetAsync(DateOnly date, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("select forecast from pressure_forecast where forecast_date = $1 order by scope", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = date });
        var result = new List<TeamForecast>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(JsonSerializer.Deserialize<TeamForecast>(reader.GetString(0), ReportJson.Options)!);
        }

        return result;
    }
}

public static class ForecastApiIds
{
    /// <summary>The id the authority's own forecast carries in place of a team id.</summary>
    public const string Authority = "authority";
}
