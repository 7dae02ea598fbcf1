using System.Diagnostics;
using System.Globalization;
using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Allocation.Grains.Children;
using Allocation.Grains.Hosting;
using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;

namespace Allocation.LoadTests;

/// <summary>
/// The nightly threshold checks over a synthetic national-size authority (default 400,000 open children,
/// 33,000 workers, 2,500 teams), in process. The teams' and their children's and workers' states are generated from a
/// fixed seed and served by a grain storage provider, so each team grain activates from "storage" (rebuilding its
/// board from its members' facts) as it would from PostgreSQL after a restart. Timed: (1) the pure calculation over the same records in memory; (2) the job's fan-out over
/// every team grain in a local silo, cold (activating all teams) and warm, exactly as NightlyThresholdChecks
/// does it (ListTeams, bounded-parallel GetMeasures, BuildReport).
/// Usage: nightly [--children N] [--workers N] [--teams N] [--parallel N] [--results DIR]
/// </summary>
public static class NightlyScenario
{
    private static readonly TimeSpan Target = TimeSpan.FromMinutes(2);

    public static async Task<int> Run(string[] args)
    {
        int children = 400_000, workers = 33_000, teams = 2_500, parallel = 16;
        var results = "loadtests/results";
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--children": children = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--workers": workers = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--teams": teams = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--parallel": parallel = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--results": results = value; break;
                default:
                    Console.Error.WriteLine($"Unknown option {args[i]}. Usage: nightly [--children N] [--workers N] [--teams N] [--parallel N] [--results DIR]");
                    return 2;
            }
        }

        var at = new DateTimeOffset(2026, 11, 3, 2, 0, 0, TimeSpan.Zero);
        var options = new AllocationOptions();
        var clock = Stopwatch.StartNew();
        var states = Generate(children, workers, teams, at, new Random(20261103));
        var generated = clock.Elapsed;
        Console.WriteLine($"generated {teams:N0} teams, {workers:N0} workers, {children:N0} children in {generated.TotalSeconds:0.0} s");

        clock.Restart();
        var pure = states.Select(s => (s.Key, s.Value.State.Name, ThresholdChecks.Measure(
            new TeamSnapshot(s.Value.State.EstablishmentFte, s.Value.Facts.Workers.Select(w => w.Value.Summary(w.Key, options)).ToList(),
                s.Value.Facts.Children.Select(c => c.Value.Summary(c.Key, at, options)).ToList(), s.Value.State.Breaches), at, options))).ToList();
        var pureReport = ThresholdChecks.BuildReport(UkCalendar.DateOf(at), at, pure, null, null);
        var pureTime = clock.Elapsed;
        Console.WriteLine($"pure calculation: {pureTime.TotalSeconds:0.00} s");

        var storage = new GeneratedStorage(states);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: 11311, gatewayPort: 30311);
            silo.AddAllocationGrains();
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, storage);
            silo.UseInMemoryReminderService();
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();

        clock.Restart();
        var cold = await Job(grains, at, parallel);
        var coldTime = clock.Elapsed;
        Console.WriteLine($"job, cold (activates {teams:N0} team grains from storage): {coldTime.TotalSeconds:0.00} s");

        clock.Restart();
        var warm = await Job(grains, at, parallel);
        var warmTime = clock.Elapsed;
        Console.WriteLine($"job, warm: {warmTime.TotalSeconds:0.00} s");
        await host.StopAsync();

        var same = SameFigures(pureReport, cold) && SameFigures(cold, warm);
        var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        var caseloads = cold.Authority.Single(k => k.Id == KpiCatalog.CaseloadsAtOrUnderCeiling);
        Console.WriteLine($"authority: caseloads at or under ceiling {caseloads.Value}% ({caseloads.Numerator}/{caseloads.Denominator}); reports equal: {same}");
        Console.WriteLine($"peak working set: {peakMb:N0} MB");
        var pass = same && coldTime < Target;
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| {DateTime.UtcNow:yyyy-MM-dd} | nightly | {teams:N0} teams, {workers:N0} workers, {children:N0} children | {Environment.ProcessorCount} cores | pure {pureTime.TotalSeconds:0.00} s; job cold {coldTime.TotalSeconds:0.00} s, warm {warmTime.TotalSeconds:0.00} s (parallel {parallel}) | {peakMb:N0} MB | {(pass ? "pass" : "FAIL")} (< {Target.TotalMinutes:0} min) |");
        Directory.CreateDirectory(results);
        var file = Path.Combine(results, $"nightly-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
        await File.WriteAllTextAsync(file, row + Environment.NewLine);
        Console.WriteLine("results: " + file);
        Console.WriteLine(row);
        return pass ? 0 : 1;
    }

    /// <summary>What NightlyThresholdChecks.RunAsync does, less the save.</summary>
    private static async Task<ThresholdReport> Job(IGrainFactory grains, DateTimeOffset at, int parallel)
    {
        var teams = await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams();
        var measures = new TeamMeasures[teams.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, teams.Count), new ParallelOptions { MaxDegreeOfParallelism = parallel },
            async (i, _) => measures[i] = await grains.GetGrain<ITeamGrain>(teams[i].Id).GetMeasures(at));
        return ThresholdChecks.BuildReport(UkCalendar.DateOf(at), at, teams.Select((t, i) => (t.Id, t.Name, measures[i])).ToList(), null, null);
    }

    private static bool SameFigures(ThresholdReport a, ThresholdReport b) =>
        a.Teams.Count == b.Teams.Count
        && a.Authority.Zip(b.Authority).All(p => p.First.Value == p.Second.Value)
        && a.Teams.Zip(b.Teams).All(t => t.First.TeamId == t.Second.TeamId && t.First.Kpis.Zip(t.Second.Kpis).All(p => p.First.Value == p.Second.Value));

    /// <summary>Team states shaped like the national figures: caseloads around 12-16, some over the ceiling by
    /// override, ~6% of children waiting, a tail with more than 3 workers in a year, case records for most.</summary>
    private static Dictionary<string, GeneratedTeam> Generate(int children, int workers, int teams, DateTimeOffset at, Random random)
    {
        var today = UkCalendar.DateOf(at);
        var states = new Dictionary<string, GeneratedTeam>(teams, StringComparer.Ordinal);
        var childNo = 0;
        var workerNo = 0;
        for (var t = 0; t < teams; t++)
        {
            var teamId = $"T{t:D5}";
            var state = new TeamState { Exists = true, Name = $"Team {t + 1}", ClocksWatched = true };
            var workerStates = new List<KeyValuePair<string, SocialWorkerState>>();
            var childStates = new List<KeyValuePair<string, ChildState>>();
            var teamWorkers = (workers / teams) + (t < workers % teams ? 1 : 0);
            var caseholders = new List<string>();
            var overriding = new HashSet<string>(StringComparer.Ordinal);
            for (var w = 0; w < teamWorkers; w++)
            {
                var id = $"W{workerNo++:D6}";
                var role = w == 0 ? WorkerRole.PracticeManager : random.NextDouble() < 0.12 ? WorkerRole.NewlyQualified : WorkerRole.SocialWorker;
                var fte = random.NextDouble() < 0.15 ? 0.6m : 1m;
                var ceiling = AllocationRules.Ceiling(role, fte, null, new AllocationOptions());
                var worker = new SocialWorkerState { Exists = true, Name = id, TeamId = teamId, Role = role, Fte = fte, Agency = random.NextDouble() < 0.18 };
                if (random.NextDouble() < 0.03)
                {
                    // One of this worker's children is held above the ceiling by override (its current period says so).
                    overriding.Add(id);
                }

                workerStates.Add(new(id, worker));
                if (ceiling > 0)
                {
                    caseholders.Add(id);
                }
            }

            state.EstablishmentFte = random.NextDouble() < 0.8 ? Math.Round(teamWorkers * 1.19m, 1) : null;
            var teamChildren = (children / teams) + (t < children % teams ? 1 : 0);
            for (var c = 0; c < teamChildren; c++)
            {
                var id = $"C{childNo++:D7}";
                var waiting = random.NextDouble() < 0.06 || caseholders.Count == 0;
                var worker = waiting ? null : caseholders[random.Next(caseholders.Count)];
                var periods = new List<WorkerPeriod>();
                var spells = random.NextDouble() < 0.08 ? random.Next(4, 6) : random.Next(1, 3);
                var from = at.AddDays(-random.Next(30, 360));
                for (var s = 0; s < spells; s++)
                {
                    var last = s == spells - 1;
                    var to = last ? (DateTimeOffset?)null : from.AddDays(random.Next(5, 40));
                    var overridden = last && worker is not null && overriding.Remove(worker);
                    periods.Add(new WorkerPeriod(last && worker is not null ? worker : $"W-past-{random.Next(100_000)}", teamId, from, worker is null && last ? from.AddDays(1) : to,
                        "allocation", Override: overridden ? new CeilingOverride("head-of-service", "generated") : null));
                    from = to ?? from;
                }

                var clock = at.AddHours(-random.Next(1, 40));
                childStates.Add(new(id, new ChildState
                {
                    Exists = true, Status = worker is null ? ChildStatus.Unallocated : ChildStatus.Allocated, TeamId = teamId, WorkerId = worker,
                    Episode = 1, ReferredAt = clock, ClockStartedAt = clock, Deadline = clock.AddHours(24), ClockReason = "referral",
                    WorkerHistory = periods, WorkerChanges = spells - 1, Version = 1, CaseRecord = random.NextDouble() < 0.9 ? Record(random, today) : null,
                }));
            }

            for (var b = random.Next(0, 6); b > 0; b--)
            {
                state.Breaches.Add(new EscalatedBreach("C", at.AddDays(-8), at.AddDays(-7), at.AddHours(-random.Next(1, 24 * 8)), []));
            }

            states[teamId] = new GeneratedTeam(state, new TeamFacts(childStates, workerStates));
        }

        return states;
    }

    private static CaseRecord Record(Random random, DateOnly today)
    {
        var plan = (PlanType)random.Next(0, 4);
        var due = today.AddDays(-random.Next(0, 20));
        var started = today.AddDays(-random.Next(5, 90));
        return new CaseRecord(plan, today.AddDays(-random.Next(10, 900)), due, random.NextDouble() < 0.93 ? due.AddDays(-random.Next(0, 3)) : null,
            started, random.NextDouble() < 0.6 ? started.AddDays(random.Next(0, Math.Max(1, today.DayNumber - started.DayNumber))) : null,
            today.AddDays(-random.Next(0, 50)), today.AddDays(-random.Next(0, 60)));
    }

    private sealed record GeneratedTeam(TeamState State, TeamFacts Facts);

    /// <summary>Serves the generated states (teams, their members' facts, the authority's team list) as if read from the database.</summary>
    private sealed class GeneratedStorage(Dictionary<string, GeneratedTeam> teams) : IGrainStorage, ITeamFacts, IClosedCases
    {
        public Task<IReadOnlyList<ClosedCase>> ReadClosed(string teamId, DateTimeOffset since, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<ClosedCase>>([]);

        private readonly AuthorityState _authority = new() { Teams = teams.ToDictionary(t => t.Key, t => t.Value.State.Name, StringComparer.Ordinal) };

        public Task<TeamFacts> Read(string teamId, CancellationToken cancellationToken = default) =>
            Task.FromResult(teams.TryGetValue(teamId, out var team) ? team.Facts : TeamFacts.None);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            object? state = stateName switch
            {
                "team" => teams.GetValueOrDefault(grainId.Key.ToString()!)?.State,
                "authority" => _authority,
                _ => null,
            };
            if (state is T typed)
            {
                grainState.State = typed;
                grainState.RecordExists = true;
                grainState.ETag = "1";
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;
    }
}
