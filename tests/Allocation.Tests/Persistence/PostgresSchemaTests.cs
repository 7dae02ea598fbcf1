using Allocation.Service.Persistence;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Allocation.Tests.Persistence;

[Collection(PostgresCollection.Name)]
public class PostgresSchemaTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task Applying_the_schema_twice_creates_the_Orleans_tables_once()
    {
        var database = await postgres.CreateDatabaseAsync("schema");

        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        foreach (var table in (string[])["orleansquery", "orleansmembershipversiontable", "orleansmembershiptable", "orleansstorage", "orleansreminderstable"])
        {
            Assert.True(await ScalarAsync<bool>(connection, $"select to_regclass('{table}') is not null"), $"table {table} is missing");
        }

        Assert.Equal(1L, await ScalarAsync<long>(connection, "select count(*) from orleansquery where querykey = 'CleanupDefunctSiloEntriesKey'"));
        Assert.Equal((long)PostgresSchema.LatestVersion, await ScalarAsync<long>(connection, $"select count(*) from {PostgresSchema.VersionTable}"));
        Assert.True(await PostgresSchema.CanConnectAsync(database, CancellationToken.None));
    }

    [PostgresFact]
    public async Task Two_processes_applying_at_once_both_succeed()
    {
        var database = await postgres.CreateDatabaseAsync("schema_race");

        await Task.WhenAll(
            Task.Run(() => PostgresSchema.ApplyAsync(database, NullLogger.Instance)),
            Task.Run(() => PostgresSchema.ApplyAsync(database, NullLogger.Instance)));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        Assert.Equal((long)PostgresSchema.LatestVersion, await ScalarAsync<long>(connection, $"select count(*) from {PostgresSchema.VersionTable}"));
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
