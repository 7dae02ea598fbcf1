using Allocation.LoadTests.Faults;
using Xunit.Abstractions;

namespace Allocation.Tests.Faults;

/// <summary>
/// Short versions of the fault scenarios in <c>loadtests/</c> (same code, smaller load): the built service as a process
/// of its own on a durable PostgreSQL of its own, a mixed command load with retries, faults injected, then the shared
/// invariant check. Each fails when any invariant breaks, any acknowledged command is lost or applied twice.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class ServiceKilledTests(ServiceKilledTests.Run run, ITestOutputHelper output) : IClassFixture<ServiceKilledTests.Run>
{
    [FaultFact]
    public void Service_killed_three_times_under_load_loses_and_duplicates_no_acknowledged_command()
    {
        var report = run.Report(output);

        Assert.Equal(3, report.Recoveries.Count);
        FaultLoads.AssertAllButBoards(report);
    }

    [FaultFact]
    public void Boards_after_the_kills_equal_boards_rebuilt_from_children_and_workers() =>
        FaultLoads.AssertBoards(run.Report(output));

    public sealed class Run() : ScenarioRun(log => FaultScenarios.KillAsync(FaultLoads.Small(faults: 3), log));
}

[Collection(FaultsCollection.Name)]
public sealed class DatabaseCrashedTests(DatabaseCrashedTests.Run run, ITestOutputHelper output) : IClassFixture<DatabaseCrashedTests.Run>
{
    [FaultFact]
    public void Database_crashed_twice_under_load_answers_503_with_retry_advice_and_loses_nothing()
    {
        var report = run.Report(output);

        Assert.Equal(2, report.Recoveries.Count);
        Assert.True(report.Unavailable > 0, "No command was answered 503 while the database was down.");
        FaultLoads.AssertAllButBoards(report);
    }

    [FaultFact]
    public void Boards_after_the_crashes_equal_boards_rebuilt_from_children_and_workers() =>
        FaultLoads.AssertBoards(run.Report(output));

    public sealed class Run() : ScenarioRun(log => FaultScenarios.CrashDatabaseAsync(FaultLoads.Small(faults: 2), log));
}

[Collection(FaultsCollection.Name)]
public sealed class SiloLostTests(SiloLostTests.Run run, ITestOutputHelper output) : IClassFixture<SiloLostTests.Run>
{
    [FaultFact]
    public void One_of_two_silos_killed_under_load_the_survivor_serves_its_grains_and_loses_nothing()
    {
        var report = run.Report(output);

        Assert.True(Assert.Single(report.Recoveries).ServedAllAfterMs > 0);
        FaultLoads.AssertAllButBoards(report);
    }

    [FaultFact]
    public void Boards_after_the_silo_was_lost_equal_boards_rebuilt_from_children_and_workers() =>
        FaultLoads.AssertBoards(run.Report(output));

    public sealed class Run() : ScenarioRun(log => FaultScenarios.SiloLostAsync(FaultLoads.Small(faults: 1) with { Watchers = 8 }, log));
}

[Collection(FaultsCollection.Name)]
public sealed class ReconnectStormTests(ReconnectStormTests.Run run, ITestOutputHelper output) : IClassFixture<ReconnectStormTests.Run>
{
    [FaultFact]
    public void Board_clients_of_a_killed_host_all_reconnect_and_hold_the_servers_board_without_going_backwards()
    {
        var report = run.Report(output);

        Assert.True(Assert.Single(report.Recoveries).BoardsHeldAfterMs > 0);
        FaultLoads.AssertAllButBoards(report);
    }

    [FaultFact]
    public void Boards_after_the_storm_equal_boards_rebuilt_from_children_and_workers() =>
        FaultLoads.AssertBoards(run.Report(output));

    public sealed class Run() : ScenarioRun(log => FaultScenarios.ReconnectStormAsync(FaultLoads.Small(faults: 1) with { Watchers = 100 }, log));
}

[Collection(FaultsCollection.Name)]
public sealed class NightlyJobKilledTests(ITestOutputHelper output)
{
    [FaultFact]
    public async Task The_nightly_job_killed_mid_run_is_run_again_by_hangfire_and_its_report_equals_an_uninterrupted_runs()
    {
        var report = await NightlyKilledScenario.RunAsync(ServiceBuild.Dll, teams: 60, claimTimeout: TimeSpan.FromSeconds(10), output.WriteLine);

        Assert.True(report.Pass, string.Join("\n", report.Checks.Where(c => !c.Pass).Select(c => $"{c.Name}: {c.Detail}")));
    }
}

/// <summary>One run of a scenario, shared by a class's tests (each asserts a part of it).</summary>
public abstract class ScenarioRun(Func<Action<string>, Task<FaultRunReport>> scenario) : IAsyncLifetime
{
    private readonly List<string> _log = [];
    private FaultRunReport? _report;
    private Exception? _failure;

    public FaultRunReport Report(ITestOutputHelper output)
    {
        _log.ForEach(output.WriteLine);
        return _report ?? throw new InvalidOperationException("The scenario did not finish.", _failure);
    }

    public async Task InitializeAsync()
    {
        try
        {
            _report = await scenario(line =>
            {
                lock (_log)
                {
                    _log.Add(line);
                }
            });
        }
        catch (Exception e)
        {
            // Reported by each test, with the scenario's log so far.
            _failure = e;
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

[Collection(FaultsCollection.Name)]
public sealed class HostileInputTests(ITestOutputHelper output)
{
    [FaultFact]
    public async Task Hostile_requests_from_the_openapi_document_get_no_5xx_problem_documents_and_change_nothing()
    {
        var report = await FaultScenarios.HostileAsync(FaultLoads.Small(faults: 400) with { Interval = TimeSpan.FromSeconds(3) }, output.WriteLine);

        Assert.True(report.Hostile!.Sent >= 400);
        Assert.True(report.Pass, FaultLoads.Failures(report));
    }
}

internal static class FaultLoads
{
    /// <summary>The load the CI versions run: enough to have commands in flight at each fault and to fill ceilings.</summary>
    public static FaultOptions Small(int faults) => new(ServiceBuild.Dll, faults, Interval: TimeSpan.FromSeconds(2), Rate: 40,
        Concurrency: 8, Teams: 2, WorkersPerTeam: 4, Ceiling: 4, Children: 60, Outage: TimeSpan.FromSeconds(3), Tail: TimeSpan.FromSeconds(1),
        Settle: TimeSpan.FromSeconds(15));

    public static void AssertAllButBoards(FaultRunReport report)
    {
        Assert.True(report.Invariants.Acknowledged > 0, "No command was acknowledged.");
        Assert.True(report.Checks.Where(c => c.Name != FaultScenarios.BoardsCheck).All(c => c.Pass), Failures(report));
    }

    public static void AssertBoards(FaultRunReport report) =>
        Assert.True(report.Checks.Single(c => c.Name == FaultScenarios.BoardsCheck).Pass, Failures(report));

    public static string Failures(FaultRunReport report) =>
        string.Join("\n", report.Checks.Where(c => !c.Pass).Select(c => $"{c.Name}: {c.Detail}"));
}

/// <summary>The service as built next to these tests (the test project references it, so it is built first).</summary>
internal static class ServiceBuild
{
    public static string Dll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                ? "Debug" : "Release";
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
                {
                    return Path.Combine(dir.FullName, "src", "Allocation.Service", "bin", configuration, "net10.0", "Allocation.Service.dll");
                }
            }

            throw new InvalidOperationException("Allocation.sln not found above " + AppContext.BaseDirectory);
        }
    }
}

/// <summary>Fault tests run one at a time: each starts a PostgreSQL and the service, and breaks them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "faults";
}

/// <summary>A fact that needs the PostgreSQL server binaries (it starts and crashes a server of its own). Skipped
/// without them, except under CI (<c>CI=true</c>), where it fails instead.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FaultFactAttribute : FactAttribute
{
    public FaultFactAttribute()
    {
        if (!string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) && DurablePostgres.FindBin() is null)
        {
            Skip = "PostgreSQL server binaries not installed (apt-get install postgresql)";
        }
    }
}
