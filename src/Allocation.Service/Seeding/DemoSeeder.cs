using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Grains.SocialWorkers;

namespace Allocation.Service.Seeding;

public static class DemoSeeding
{
    public static IServiceCollection AddDemoSeeding(this IServiceCollection services)
    {
        services.AddOptions<SeedingOptions>().BindConfiguration(SeedingOptions.SectionName);
        // Registered after the silo, so it starts once the silo is up.
        services.AddHostedService<DemoSeeder>();
        return services;
    }
}

public sealed class SeedingOptions
{
    public const string SectionName = "Seeding";

    /// <summary>Seed the demo authority at start-up if the authority has no teams yet.</summary>
    public bool Demo { get; set; }

    /// <summary>Relative to the content root or the app's base directory.</summary>
    public string File { get; set; } = "seeds/demo-authority.json";
}

/// <summary>Loads the demo authority into an empty silo: teams, workers, then children with their past worker history.</summary>
public sealed partial class DemoSeeder(
    IGrainFactory grains,
    Microsoft.Extensions.Options.IOptions<SeedingOptions> options,
    IHostEnvironment environment,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    ILogger<DemoSeeder> logger) : IHostedService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Demo)
        {
            return;
        }

        var authority = grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key);
        if ((await authority.ListTeams()).Count > 0)
        {
            LogSkipped();
            return;
        }

        var path = new[] { Path.Combine(environment.ContentRootPath, options.Value.File), Path.Combine(AppContext.BaseDirectory, options.Value.File) }
            .FirstOrDefault(System.IO.File.Exists)
            ?? throw new FileNotFoundException($"Demo seed file '{options.Value.File}' not found under {environment.ContentRootPath} or {AppContext.BaseDirectory}.");
        await using var stream = System.IO.File.OpenRead(path);
        var demo = await JsonSerializer.DeserializeAsync<DemoAuthority>(stream, Json, cancellationToken)
            ?? throw new InvalidDataException($"{path} is empty.");
        var elapsed = Stopwatch.StartNew();
        await SeedAsync(grains, demo, time.GetUtcNow(), cancellationToken);
        LogSeeded(demo.Teams.Count, demo.Workers.Count, demo.Children.Count, elapsed.ElapsedMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static async Task SeedAsync(IGrainFactory grains, DemoAuthority demo, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var authority = grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key);
        foreach (var team in demo.Teams)
        {
            await authority.UpsertTeam(team.Id, team.Name);
            if (team.EstablishmentFte is { } establishment)
            {
                await grains.GetGrain<Grains.Teams.ITeamGrain>(team.Id).SetEstablishment(establishment);
            }
        }

        foreach (var group in demo.Workers.GroupBy(w => IdDirectory.Bucket(w.Id)))
        {
            await IdDirectory.For(grains, IdKind.Worker, group.First().Id).AddMany(group.Select(w => w.Id).ToList());
        }

        await Parallel.ForEachAsync(demo.Workers, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (w, _) =>
        {
            var result = await grains.GetGrain<ISocialWorkerGrain>(w.Id).Upsert(new UpsertWorker(w.Name, w.TeamId, w.Role, w.Fte, w.Ceiling, w.Agency));
            if (result.Refusal is { } refusal)
            {
                throw new InvalidDataException($"Seed worker {w.Id}: {refusal.Detail}");
            }
        });

        foreach (var group in demo.Children.GroupBy(c => IdDirectory.Bucket(c.Id)))
        {
            await IdDirectory.For(grains, IdKind.Child, group.First().Id).AddMany(group.Select(c => c.Id).ToList());
        }

        // Children of one team go in one at a time: each one updates the team's board.
        await Parallel.ForEachAsync(demo.Children.GroupBy(c => c.TeamId), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (team, _) =>
        {
            foreach (var c in team)
            {
                var history = c.History.Select(p => new WorkerPeriod(
                    p.WorkerId, c.TeamId, now.AddDays(-p.FromDaysAgo), p.ToDaysAgo is { } to ? now.AddDays(-to) : null,
                    p.Reason, p.By, p.EndReason, p.ToDaysAgo is null && c.Override is { } o ? new CeilingOverride(o.By, o.Reason) : null)).ToList();
                var result = await grains.GetGrain<IChildGrain>(c.Id).Import(new ImportChild(
                    c.TeamId, now.AddDays(-c.ReferredDaysAgo), now.AddHours(-c.ClockStartedHoursAgo), history,
                    c.Override is { } ov ? new CeilingOverride(ov.By, ov.Reason) : null, CaseRecordOf(c.CaseRecord, now)));
                if (result.Refusal is { } refusal)
                {
                    throw new InvalidDataException($"Seed child {c.Id}: {refusal.Detail}");
                }
            }
        });
    }

    private static CaseRecord? CaseRecordOf(DemoCaseRecord? r, DateTimeOffset now)
    {
        if (r is null)
        {
            return null;
        }

        DateOnly? Day(double? daysAgo) => daysAgo is { } d ? Grains.Kpis.UkCalendar.DateOf(now.AddDays(-d)) : null;
        return new CaseRecord(r.Plan, Day(r.PlanStartedDaysAgo), Day(r.VisitDueDaysAgo), Day(r.VisitDoneDaysAgo),
            Day(r.AssessmentStartedDaysAgo), Day(r.AssessmentCompletedDaysAgo), Day(r.LastSupervisionDaysAgo), Day(r.LastManagementOversightDaysAgo));
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Demo authority seeded: {Teams} teams, {Workers} workers, {Children} children in {Milliseconds} ms")]
    private partial void LogSeeded(int teams, int workers, int children, long milliseconds);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Demo seeding skipped: the authority already has teams")]
    private partial void LogSkipped();
}
