namespace Allocation.Service.Hosting;

/// <summary>Where the silo keeps its state, chosen from configuration at start-up.</summary>
public sealed record StorageMode(string? ConnectionString)
{
    public bool IsPostgres => !string.IsNullOrWhiteSpace(ConnectionString);

    public static StorageMode From(IConfiguration configuration, IHostEnvironment environment)
    {
        var connectionString = configuration.GetConnectionString("Allocation");
        if (string.IsNullOrWhiteSpace(connectionString) && !environment.IsDevelopment())
        {
            // Silently falling back to memory in production would lose every allocation on restart.
            throw new InvalidOperationException(
                $"No PostgreSQL connection string: set ConnectionStrings__Allocation (environment '{environment.EnvironmentName}'). " +
                "The in-memory store is only for the Development environment, where nothing is persisted.");
        }

        return new StorageMode(connectionString);
    }
}
