using System.Net;
using Allocation.Grains;
using Allocation.Grains.Boards;
using Allocation.Service.Persistence;
using Orleans.Configuration;

namespace Allocation.Service.Hosting;

public static partial class OrleansSetup
{
    /// <summary>
    /// Co-hosts the Orleans silo. With a connection string: clustering, grain state and reminders in PostgreSQL
    /// (System.Text.Json state, schema applied on start). Without one (Development only): localhost clustering,
    /// memory storage and in-memory reminders.
    /// </summary>
    public static WebApplicationBuilder AddAllocationSilo(this WebApplicationBuilder builder, StorageMode storage)
    {
        builder.Services.AddSingleton(storage);
        builder.Services.AddOptions<AllocationOptions>()
            .BindConfiguration(AllocationOptions.SectionName)
            .Validate(o => o.AllocationWindow > TimeSpan.Zero, "Allocation:AllocationWindow must be positive.")
            .Validate(o => o.AmberThreshold >= TimeSpan.Zero && o.AmberThreshold < o.AllocationWindow, "Allocation:AmberThreshold must be under the allocation window.")
            .Validate(o => o.RoleCeilings.Values.All(c => c >= 0), "Allocation:RoleCeilings must not be negative.")
            .Validate(o => o.WorkerChangeFlagThreshold >= 0, "Allocation:WorkerChangeFlagThreshold must not be negative.")
            .ValidateOnStart();
        builder.Services.AddKeyedSingleton(AllocationClock.Key, TimeProvider.System);
        builder.Services.AddBoardPublishing();

        var orleans = builder.Configuration.GetSection("Orleans");
        var siloPort = orleans.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
        var gatewayPort = orleans.GetValue("GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);

        if (storage.IsPostgres)
        {
            // Registered before the silo, so the schema exists before Orleans first queries it.
            builder.Services.AddHostedService<SchemaInitializer>();
        }

        builder.UseOrleans(silo =>
        {
            if (storage.IsPostgres)
            {
                var cs = storage.ConnectionString!;
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = orleans.GetValue("ClusterId", "allocation")!;
                    o.ServiceId = orleans.GetValue("ServiceId", "allocation")!;
                });
                silo.ConfigureEndpoints(IPAddress.Parse(orleans.GetValue("AdvertisedIP", "127.0.0.1")!), siloPort, gatewayPort, listenOnAnyHostAddress: true);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                silo.AddAdoNetGrainStorage(GrainStorage.Name, o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                silo.UseSystemTextJsonGrainStorageSerializer();
            }
            else
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort);
                silo.AddMemoryGrainStorage(GrainStorage.Name);
                silo.UseInMemoryReminderService();
            }
        });

        return builder;
    }

    private sealed partial class SchemaInitializer(StorageMode storage, ILogger<SchemaInitializer> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            PostgresSchema.ApplyAsync(storage.ConnectionString!, logger, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
