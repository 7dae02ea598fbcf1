using Allocation.Grains.Authority;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Allocation.Service.Hosting;

public static class HealthChecks
{
    private const string Ready = "ready";

    public static IServiceCollection AddAllocationHealthChecks(this IServiceCollection services, StorageMode storage)
    {
        var checks = services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy())
            .AddCheck<SiloCheck>("orleans", tags: [Ready]);
        if (storage.IsPostgres)
        {
            checks.AddCheck<PostgresCheck>("postgresql", tags: [Ready]);
        }

        return services;
    }

    /// <summary>/health/live: the process answers. /health/ready and /health: the silo and the database answer too.</summary>
    public static IEndpointRouteBuilder MapAllocationHealthChecks(this IEndpointRouteBuilder app)
    {
        // Probes carry no token.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = c => c.Name == "self" }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready) }).AllowAnonymous();
        app.MapHealthChecks("/health").AllowAnonymous();
        return app;
    }

    private sealed class SiloCheck(IGrainFactory grains) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var teams = await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                return HealthCheckResult.Healthy($"{teams.Count} teams");
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("The silo did not answer.", ex);
            }
        }
    }

    private sealed class PostgresCheck(StorageMode storage) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var connection = new NpgsqlConnection(storage.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("select 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL did not answer.", ex);
            }
        }
    }
}
