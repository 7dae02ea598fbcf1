using System.Net;
using Allocation.Grains;
using Allocation.Grains.Boards;
using Allocation.Service.Persistence;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Allocation.Service.Hosting;

public static partial class OrleansSetup
{
    /// <summary>
    /// Co-hosts the Orleans silo. With a connection string: clustering, grain state and reminders in PostgreSQL
    /// (System.Text.Json state, schema applied on start). Without one (Development only): localhost clustering,
    /// memory storage and in-memory reminders. On PostgreSQL grain state goes through <see cref="GroupCommitGrainStorage"/>
    /// unless <c>Persistence:GrainStorage</c> is <c>AdoNet</c>.
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
        builder.Services.AddOptions<Allocation.Grains.Advice.AdviceOptions>()
            .BindConfiguration(Allocation.Grains.Advice.AdviceOptions.SectionName)
            .Validate(o => o.AbsenceLookAhead >= TimeSpan.Zero && o.Shown > 0 && o.ForecastDays is > 0 and <= 28 && o.ForecastHistoryDays >= 14,
                "Advice: AbsenceLookAhead must not be negative, Shown positive, ForecastDays 1-28 and ForecastHistoryDays at least 14.")
            .ValidateOnStart();
        builder.Services.AddKeyedSingleton(AllocationClock.Key, TimeProvider.System);
        builder.Services.AddBoardPublishing();

        var orleans = builder.Configuration.GetSection("Orleans");
        var siloPort = orleans.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
        var gatewayPort = orleans.GetValue("GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);

        var persistence = builder.Configuration.GetSection(GroupCommitOptions.SectionName).Get<GroupCommitOptions>() ?? new GroupCommitOptions();
        if (storage.IsPostgres)
        {
            builder.Services.AddSingleton(persistence);
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
                // The AdoNet provider keeps its name either way: with group commit it is where state written before
                // the switch is still read from.
                silo.AddAdoNetGrainStorage(persistence.UsesGroupCommit ? AdoNetStorageName : GrainStorage.Name, o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                if (persistence.UsesGroupCommit)
                {
                    silo.Services.AddGrainStorage(GrainStorage.Name, (sp, name) => new GroupCommitGrainStorage(name, CreateDataSource(cs),
                        sp.GetRequiredService<IGrainStorageSerializer>(), sp.GetRequiredKeyedService<IGrainStorage>(AdoNetStorageName),
                        persistence, sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));
                }

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

    /// <summary>The Orleans AdoNet grain storage when group commit is in use (reads of state it kept).</summary>
    public const string AdoNetStorageName = GrainStorage.Name + "-adonet";

    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        // The same few statements all day: prepared once per connection.
        builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 16);
        // Nothing session-scoped is ever set on these connections: skip the reset round trip on every return to the pool.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        return builder.Build();
    }

    private sealed partial class SchemaInitializer(StorageMode storage, GroupCommitOptions persistence, ILogger<SchemaInitializer> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await PostgresSchema.ApplyAsync(storage.ConnectionString!, logger, cancellationToken);
            if (persistence.UsesGroupCommit)
            {
                await using var connection = new NpgsqlConnection(storage.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand(GroupCommitGrainStorage.CreateTableSql, connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
