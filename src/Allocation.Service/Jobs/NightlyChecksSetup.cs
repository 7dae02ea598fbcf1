using System.Net;
using Allocation.Grains.Kpis;
using Allocation.Service.Hosting;
using Allocation.Service.Reports;
using Allocation.Service.Seeding;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Dashboard;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Jobs;

public static partial class NightlyChecksSetup
{
    /// <summary>Hangfire's own tables, apart from ours and Orleans'.</summary>
    public const string HangfireSchema = "hangfire";

    /// <summary>
    /// Hangfire with two workers, on PostgreSQL (same database, schema <c>hangfire</c>) when a connection string is
    /// set, else in memory; the report store to match; and the recurring job, registered once at start.
    /// Call after the silo and demo seeding, so the job's first run finds both started.
    /// </summary>
    public static WebApplicationBuilder AddNightlyChecks(this WebApplicationBuilder builder, StorageMode storage)
    {
        var services = builder.Services;
        services.AddOptions<NightlyChecksOptions>()
            .BindConfiguration(NightlyChecksOptions.SectionName)
            .Validate(o => IsCron(o.Cron), "NightlyChecks:Cron must be a cron expression of five (or six, with seconds) fields.")
            .Validate(o => FindTimeZone(o.TimeZone) is not null, "NightlyChecks:TimeZone must be a known time zone id (e.g. Europe/London).")
            .Validate(o => o.MaxParallelTeams is >= 1 and <= 256, "NightlyChecks:MaxParallelTeams must be 1-256.")
            .Validate(o => o.QueuePollInterval >= TimeSpan.FromMilliseconds(100), "NightlyChecks:QueuePollInterval must be at least 100 ms.")
            .Validate(o => o.InvisibilityTimeout >= TimeSpan.FromSeconds(5), "NightlyChecks:InvisibilityTimeout must be at least 5 seconds.")
            .Validate(o => o.LockTimeout >= TimeSpan.FromSeconds(5), "NightlyChecks:LockTimeout must be at least 5 seconds.")
            .Validate(o => o.Targets.Keys.All(k => KpiCatalog.Find(k) is not null), $"NightlyChecks:Targets may only name these KPIs: {string.Join(", ", KpiCatalog.All.Select(k => k.Id))}.")
            .Validate(o => o.Targets.Values.All(t => t.AmberMargin is null or >= 0), "NightlyChecks:Targets amber margins must not be negative.")
            .ValidateOnStart();

        services.AddSingleton<IReportStore>(storage.IsPostgres ? new PostgresReportStore(storage.ConnectionString!) : new InMemoryReportStore());
        services.AddSingleton<IForecastStore>(storage.IsPostgres ? new PostgresForecastStore(storage.ConnectionString!) : new InMemoryForecastStore());
        services.AddTransient<PressureForecasts>();
        services.AddTransient<NightlyThresholdChecks>();

        // Our own storage singleton, so each host has its own and never shares Hangfire's static JobStorage.Current.
        services.AddSingleton<JobStorage>(sp =>
        {
            if (!storage.IsPostgres)
            {
                return new InMemoryStorage();
            }

            var o = sp.GetRequiredService<IOptions<NightlyChecksOptions>>().Value;
            return new PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(storage.ConnectionString!, Postgres(o)), Postgres(o));
        });
        services.AddHangfire((sp, config) => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseLogProvider(new HangfireLogging(sp.GetRequiredService<ILoggerFactory>())));
        services.AddHangfireServer((sp, o) =>
        {
            o.WorkerCount = 2;
            // This host's own activator: Hangfire's global one belongs to whichever host configured it last.
            o.Activator = new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>());
        });
        services.AddHostedService<NightlyChecksScheduler>();
        return builder;

        static PostgreSqlStorageOptions Postgres(NightlyChecksOptions o) => new()
        {
            SchemaName = HangfireSchema,
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = o.QueuePollInterval,
            InvisibilityTimeout = o.InvisibilityTimeout,
            UseSlidingInvisibilityTimeout = true,
            DistributedLockTimeout = o.LockTimeout,
        };
    }

    /// <summary>
    /// The Hangfire dashboard at <c>/hangfire</c>, in Development only and to loopback requests only: it can trigger and
    /// delete jobs, and there is no access control yet. Elsewhere it is not mapped at all.
    /// </summary>
    /// <summary>The job dashboard, for administrators (the bearer token, or in a browser the cookie the sign-in page
    /// sets for this path only).</summary>
    public static WebApplication MapNightlyChecksDashboard(this WebApplication app)
    {
        app.MapHangfireDashboardWithAuthorizationPolicy(Security.Policies.Administrators, "/hangfire", new DashboardOptions
        {
            // The policy decides; Hangfire's own default filter would allow local requests only.
            Authorization = [],
            DisplayStorageConnectionString = false,
            DashboardTitle = "Allocation jobs",
        });

        return app;
    }

    internal static TimeZoneInfo? FindTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>A first check only; Hangfire parses the expression when the job is registered and fails the start if it cannot.</summary>
    private static bool IsCron(string cron) =>
        !string.IsNullOrWhiteSpace(cron) && cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length is 5 or 6;

    /// <summary>Registers (or updates) the recurring job at start; in the demo, runs it once if there is no report yet.</summary>
    private sealed partial class NightlyChecksScheduler(
        IRecurringJobManager recurring,
        IBackgroundJobClient jobs,
        IReportStore reports,
        IOptions<NightlyChecksOptions> options,
        IOptions<SeedingOptions> seeding,
        IGrainFactory grains,
        [FromKeyedServices(Allocation.Grains.AllocationClock.Key)] TimeProvider time,
        ILogger<NightlyChecksScheduler> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var o = options.Value;
            recurring.AddOrUpdate<NightlyThresholdChecks>(
                NightlyThresholdChecks.JobId, job => job.Execute(CancellationToken.None), o.Cron,
                new RecurringJobOptions { TimeZone = FindTimeZone(o.TimeZone)! });
            LogScheduled(NightlyThresholdChecks.JobId, o.Cron, o.TimeZone);

            if (seeding.Value.Demo && await reports.GetLatestAsync(cancellationToken) is null)
            {
                // Past nights first, so the first real report has a previous night and the trend lines a trend.
                await DemoReportHistory.SeedAsync(grains, reports, o.Targets, time.GetUtcNow(), cancellationToken);
                var id = jobs.Enqueue<NightlyThresholdChecks>(job => job.Execute(CancellationToken.None));
                LogFirstRun(id);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "Recurring job {JobId} scheduled: {Cron} ({TimeZone})")]
        private partial void LogScheduled(string jobId, string cron, string timeZone);

        [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "No threshold report yet: first run queued as job {HangfireJobId}")]
        private partial void LogFirstRun(string hangfireJobId);
    }
}
