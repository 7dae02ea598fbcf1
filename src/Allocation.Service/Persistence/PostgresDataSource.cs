using Npgsql;

namespace Allocation.Service.Persistence;

/// <summary>The connection pools of the service's own hot paths: grain storage and the audit trail.</summary>
public static class PostgresDataSource
{
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        // The same few statements all day: prepared once per connection.
        builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 16);
        // Nothing session-scoped is ever set on these connections: skip the reset (DISCARD ALL) on every return to the pool.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        return builder.Build();
    }
}
