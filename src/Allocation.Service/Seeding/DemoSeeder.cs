using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Hosting;

namespace Allocation.Service.Seeding;

public static class DemoSeeding
{
    /// <summary>The demo is seeded by default in embedded mode only: into PostgreSQL only when <c>Seeding:Demo</c> says so,
    /// so that invented teams and children never land in a real database by accident.</summary>
    public static IServiceCollection AddDemoSeeding(this IServiceCollection services, StorageMode storage)
    {
        services.AddOptions<SeedingOptions>()
            .Configure(o => o.Demo = !storage.IsPostgres)
            .BindConfiguration(SeedingOptions.SectionName);
        // Registered after the silo, so it starts once the silo is up.
        services.AddHostedService<DemoSeeder>();
        return services;
    }
}

public sealed class SeedingOptions
{
    public const string SectionName = "Seeding";

    /// <summary>Seed the demo authority at start-up if the authority has no teams yet. Default: true in embedded mode,
    /// false on PostgreSQL.</summary>
    public bool Demo { get; set; }

    /// <summary>Relative to the content root or the app's base directory.</summary>
    public string File { get; set; } = "seeds/demo-authority.json";
}

/// <summary>Loads the demo authority into an empty silo: teams, workers, then children with their past worker history.</summary>
public sealed partial class DemoSeeder(
    IGrainFactory grains,
    Microsoft.Extensions.Options.IOptions<SeedingOptions> options,
    StorageMode storage,
    IHostEnvironment environment,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    ILogger<DemoSeeder> logger) : IHostedService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Demo)
        {
            if (storage.IsPostgres && environment.IsDevelopment())
            {
                LogNotSeededIntoDatabase();
            }

            return;
        }

        if (storage.IsPostgres)
        {
            LogSeedingIntoDatabase();
        }

        var authority = grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key);
        if ((await authority.ListTeams()).Count > 0)
        {
            LogSkipped();
            return;
        }

        var demo = await ReadAsync(environment, options.Value.File, cancellationToken);
        var elapsed = Stopwatch.StartNew();
        await SeedAsync(grains, demo, time.GetUtcNow(), cancellationToken);
        LogSeeded(demo.Teams.Count, demo.Workers.Count, demo.Children.Count, elapsed.ElapsedMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Reads the seed file, relative to the content root or the app's base directory.</summary>
    public static async Task<DemoAuthority> ReadAsync(IHostEnvironment environment, string file, CancellationToken cancellationToken)
    {
        var path = new[] { Path.Combine(environment.ContentRootPath, file), Path.Combine(AppContext.BaseDirectory, file) }
            .FirstOrDefault(System.IO.File.Exists)
            ?? throw new FileNotFoundException($"Demo seed file '{file}' not found under {environment.ContentRootPath} or {AppContext.BaseDirectory}.");
        await using var stream = System.IO.File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<DemoAuthority>(stream, Json, cancellationToken)
            ?? throw new InvalidDataException($"{path} is empty.");
    }

    public static async Task SeedAsync(IGrainFactory grains, DemoAuthority demo, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await AuthorityLoader.LoadAsync(grains, ToLoad(demo, now), cancellationToken);
        // Leave is recorded once the children are loaded: leave already running hands them back to the queue as it would.
        foreach (var w in demo.Workers.Where(w => w.Absences is { Count: > 0 }))
        {
            foreach (var (a, i) in w.Absences!.Select((a, i) => (a, i)))
            {
                await Staffing.StartAbsence(grains, w.Id, new StartAbsence(
                    $"demo-absence:{w.Id}:{i}", now.AddDays(-a.FromDaysAgo), a.ToDaysAgo is { } to ? now.AddDays(-to) : null, a.Reason));
            }
        }
    }

    private static AuthorityLoad ToLoad(DemoAuthority demo, DateTimeOffset now) => new(
        demo.Teams.Select(t => new LoadTeam(t.Id, t.Name, t.EstablishmentFte)).ToList(),
        demo.Workers.Select(w => new LoadWorker(w.Id, new UpsertWorker(w.Name, w.TeamId, w.Role, w.Fte, w.Ceiling, w.Agency,
            w.SupervisionMonthsAgo?.Select(m => FifthOfMonth(Grains.Kpis.UkCalendar.DateOf(now).AddMonths(-m))).ToList()))).ToList(),
        demo.Children.Select(c =>
        {
            var history = c.History.Select(p => new WorkerPeriod(
                p.WorkerId, c.TeamId, now.AddDays(-p.FromDaysAgo), p.ToDaysAgo is { } to ? now.AddDays(-to) : null,
                p.Reason, p.By, p.EndReason, p.ToDaysAgo is null && c.Override is { } o ? new CeilingOverride(o.By, o.Reason) : null)).ToList();
            return new LoadChild(c.Id, new ImportChild(
                c.TeamId, now.AddDays(-c.ReferredDaysAgo), now.AddHours(-c.ClockStartedHoursAgo), history,
                c.Override is { } ov ? new CeilingOverride(ov.By, ov.Reason) : null, CaseRecordOf(c.CaseRecord, now), c.FamilyId));
        }).ToList());

    /// <summary>Supervision in the demo falls on the 5th of the month.</summary>
    private static DateOnly FifthOfMonth(DateOnly day) => new(day.Year, day.Month, 5);

    private static CaseRecord? CaseRecordOf(DemoCaseRecord? r, DateTimeOffset now)
    {
        if (r is null)
        {
            return null;
        }

        DateOnly? Day(double? daysAgo) => daysAgo is { } d ? Grains.Kpis.UkCalendar.DateOf(now.AddDays(-d)) : null;
        return new CaseRecord(r.Plan, Day(r.PlanStartedDaysAgo), Day(r.VisitDueDaysAgo), Day(r.VisitDoneDaysAgo),
            Day(r.AssessmentStartedDaysAgo), Day(r.AssessmentCompletedDaysAgo), Day(r.LastSupervisionDaysAgo), Day(r.LastManagementOversightDaysAgo),
            Day(r.ReviewDueDaysAgo), Day(r.ReviewDoneDaysAgo), r.ChildSeen, r.ChildSeenAlone);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Demo authority seeded: {Teams} teams, {Workers} workers, {Children} children in {Milliseconds} ms")]
    private partial void LogSeeded(int teams, int workers, int children, long milliseconds);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Demo seeding is off on PostgreSQL: the service starts with what the database holds. " +
        "To seed the demo authority (invented teams, workers and children) into an empty database, start once with Seeding__Demo=true; to load real data, see README \"Bulk import\".")]
    private partial void LogNotSeededIntoDatabase();

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Seeding__Demo=true: the demo authority's invented teams, workers and children are written to PostgreSQL if the authority has no teams")]
    private partial void LogSeedingIntoDatabase();

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Demo seeding skipped: the authority already has teams")]
    private partial void LogSkipped();
}
