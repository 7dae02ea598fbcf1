using System.Net;
using Allocation.Grains;
using Allocation.Grains.Hosting;
using Allocation.Service.Persistence;
using Npgsql;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Allocation.Service.Hosting;

public static partial class OrleansSetup
{
    /// <summary>
    /// Whether the Orleans dashboard runs (<c>Orleans:Dashboard</c>; by default with the in-memory demo only). It is a
    /// diagnostic tool with a standing cost: it times every grain call and reads every Orleans gauge once a second,
    /// whether or not anyone has it open, and two of those gauges count by walking every activation, so its cost
    /// grows with the authority (measured: loadtests/RESULTS.md). Prometheus at <c>/metrics</c> carries the same
    /// Orleans instruments, read only when scraped.
    /// </summary>
    public static bool DashboardEnabled(IConfiguration configuration, StorageMode storage) =>
        configuration.GetValue("Orleans:Dashboard", !storage.IsPostgres);

    /// <summary>
    /// Co-hosts the Orleans silo. With a connection string: clustering and reminders in PostgreSQL through Orleans
    /// AdoNet, grain state (System.Text.Json) through <see cref="GroupCommitGrainStorage"/>, schema applied on start.
    /// Without one (Development only): localhost clustering, memory storage and in-memory reminders.
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

        var orleans = builder.Configuration.GetSection("Orleans");
        var siloPort = orleans.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);

        var persistence = builder.Configuration.GetSection(GroupCommitOptions.SectionName).Get<GroupCommitOptions>() ?? new GroupCommitOptions();
        if (storage.IsPostgres)
        {
            // Registered before the silo, so the schema exists before Orleans first queries it.
            builder.Services.AddHostedService<SchemaInitializer>();
        }

        builder.UseOrleans(silo =>
        {
            silo.AddAllocationGrains();
            // Traces, when they are exported, follow a request into the grains it calls (without an exporter the
            // filter only costs each grain call its time). The dashboard's counters feed /dashboard, without its live
            // log stream (logs are for the log pipeline, with its own access rules).
            if (Telemetry.TracesExported(builder.Configuration))
            {
                silo.AddActivityPropagation();
            }

            if (DashboardEnabled(builder.Configuration, storage))
            {
                silo.AddDashboard(o => o.HideTrace = true);
            }
            if (storage.IsPostgres)
            {
                var cs = storage.ConnectionString!;
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = orleans.GetValue("ClusterId", "allocation")!;
                    o.ServiceId = orleans.GetValue("ServiceId", "allocation")!;
                });
                // Silo to silo only, on the address the other silos reach this one by, under mutual TLS. No gateway:
                // the one Orleans client is the one in this process, and a gateway would let anyone who reaches its
                // port call any grain directly, past every HTTP rule and the audit trail.
                silo.ConfigureEndpoints(IPAddress.Parse(orleans.GetValue("AdvertisedIP", "127.0.0.1")!), siloPort, NoGateway, listenOnAnyHostAddress: false);
                var tls = SiloTls.From(orleans.GetSection("Tls"));
                silo.UseTls(tls.Configure);
                if (tls.SelfMade)
                {
                    silo.Services.AddHostedService<SelfMadeCertificateWarning>();
                }

                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                silo.Services.AddGrainStorage(GrainStorage.Name, (sp, name) => new GroupCommitGrainStorage(name, PostgresDataSource.Create(cs),
                    sp.GetRequiredService<IGrainStorageSerializer>(), persistence, sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));

                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cs;
                });
                // JSON's options stay registered: rows written as JSON by an earlier version are still read.
                silo.UseSystemTextJsonGrainStorageSerializer();
                silo.Services.AddSingleton<IGrainStorageSerializer, BinaryGrainStorageSerializer>();
            }
            else
            {
                silo.UseLocalhostClustering(siloPort, NoGateway);
                silo.AddAllocationMemoryStorage();
            }
        });

        return builder;
    }

    /// <summary>Orleans' "no gateway": clients outside this process have nothing to connect to.</summary>
    private const int NoGateway = 0;

    private sealed partial class SelfMadeCertificateWarning(ILogger<SelfMadeCertificateWarning> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LogSelfMade(logger);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "No Orleans:Tls:CertificatePath: this silo made its own certificate, so no other silo can join it. Configure a certificate on every node to run several.")]
        private static partial void LogSelfMade(ILogger logger);
    }

    private sealed partial class SchemaInitializer(StorageMode storage, IGrainStorageSerializer serializer, ILogger<SchemaInitializer> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await PostgresSchema.ApplyAsync(storage.ConnectionString!, logger, cancellationToken);
            await using var connection = new NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await GroupCommitGrainStorage.EnsureSchemaAsync(connection, serializer, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
