using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Allocation.LoadTests.Faults;

public sealed record NightlyKilledReport(
    string Scenario, DateTimeOffset Date, string Command, Machine Machine, string Service, int Teams, int Children, int Acknowledged,
    double JobStartedToKillMs, double KilledToReportMs, string? ReportDate, int ReportTeams, IReadOnlyList<Check> Checks)
{
    public bool Pass => Checks.All(c => c.Pass);

    public string MarkdownRow =>
        $"| nightly | {Teams} teams, {Children} children after a spell of mixed commands; the job over cold team grains | SIGKILL of the service " +
        $"{JobStartedToKillMs:0} ms after the job logged its start (before it saved), restarted | {Acknowledged} | — | — | " +
        $"{Checks.Count(c => !c.Pass)} failed checks | report for {ReportDate} saved {KilledToReportMs / 1000:0.0} s after the kill (Hangfire ran the job again); " +
        $"equal to an uninterrupted run's: {Checks.Single(c => c.Name == EqualCheck).Pass} | {Machine.ProcessorCount} cores, load {Machine.LoadAverage} | {Date:yyyy-MM-dd} |";

    public const string EqualCheck = "the report after the kill equals an uninterrupted run's";
}

/// <summary>
/// The nightly threshold checks killed mid-run: a run is queued (<c>POST /api/reports/run</c>), the service is
/// SIGKILLed as soon as the job logs its start, and started again. Hangfire must run the job again by itself (once the
/// dead run's claim and lock have timed out: short in this run, set by <c>NightlyChecks:InvisibilityTimeout</c> and
/// <c>LockTimeout</c>), and the report for that date must be complete (every team) and equal to the report of a run
/// that was not interrupted, made straight after (the time it ran at aside).
/// </summary>
public static class NightlyKilledScenario
{
    public static async Task<NightlyKilledReport> RunAsync(string dll, int teams, TimeSpan claimTimeout, Action<string> log)
    {
        var machine = Machine.Describe();
        var runId = $"fn-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(0x1000):x3}";
        await using var database = await DurablePostgres.StartAsync();
        var timeout = claimTimeout.ToString();
        await using var service = new ServiceProcess(dll, database.ConnectionString, "faults-" + runId, new Dictionary<string, string>
        {
            ["NightlyChecks__QueuePollInterval"] = "00:00:01",
            ["NightlyChecks__InvisibilityTimeout"] = timeout,
            ["NightlyChecks__LockTimeout"] = timeout,
            // One team at a time over cold grains: a run long enough to be killed in the middle.
            ["NightlyChecks__MaxParallelTeams"] = "1",
            ["Logging__LogLevel__Allocation.Service.Jobs"] = "Information",
        });
        await service.StartAsync();
        var tally = new ClientTally();
        using var admin = new CommandClient(service.Url, "U-ADMIN", tally);
        using var leader = new CommandClient(service.Url, "U-HOS", tally);
        var load = await CommandLoad.SetUpAsync(admin, runId, teams, workersPerTeam: 2, ceiling: 4, children: teams * 3);
        using (var spell = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await load.RunAsync(leader, concurrency: 8, rate: 40, spell.Token);
        }

        // Cold grains, so that the run has to activate every team.
        await service.KillAsync();
        await service.StartAsync();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saved = false;
        void Watch(string line)
        {
            if (line.Contains("Nightly threshold checks for", StringComparison.Ordinal))
            {
                if (line.Contains(" saved:", StringComparison.Ordinal))
                {
                    saved = true;
                }
                else if (line.Contains(" started over ", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            }
        }

        service.Line += Watch;
        var queued = await leader.SendAsync(HttpMethod.Post, "/api/reports/run", (object?)null);
        log($"run queued: {queued.Status} {queued.Body}");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var sinceStart = Stopwatch.StartNew();
        await service.KillAsync();
        var startedToKill = sinceStart.Elapsed.TotalMilliseconds;
        service.Line -= Watch;
        var killedMidRun = !saved;
        log($"killed {startedToKill:0} ms after the job started; it had {(saved ? "already" : "not")} saved its report");
        var killedAt = Stopwatch.StartNew();
        await service.StartAsync();
        await leader.RenewTokenAsync();
        JsonNode? afterKill = null;
        while (killedAt.Elapsed < claimTimeout * 2 + TimeSpan.FromMinutes(3))
        {
            var (status, text) = await leader.OnceAsync(HttpMethod.Get, "/api/reports/latest", null, CancellationToken.None);
            if (status == 200)
            {
                afterKill = JsonNode.Parse(text);
                break;
            }

            await Task.Delay(500);
        }

        var killedToReport = killedAt.Elapsed.TotalMilliseconds;
        log(afterKill is null ? "no report after the kill" : $"report for {afterKill["date"]} saved {killedToReport:0} ms after the kill");

        // An uninterrupted run over the same facts, straight after.
        JsonNode? uninterrupted = null;
        if (afterKill is not null)
        {
            await leader.SendAsync(HttpMethod.Post, "/api/reports/run", (object?)null);
            var again = Stopwatch.StartNew();
            while (again.Elapsed < TimeSpan.FromMinutes(3) && uninterrupted is null)
            {
                await Task.Delay(500);
                var latest = JsonNode.Parse((await leader.GetAsync("/api/reports/latest")).GetRawText());
                if (latest?["runAt"]?.ToString() != afterKill["runAt"]?.ToString())
                {
                    uninterrupted = latest;
                }
            }
        }

        var reportTeams = afterKill?["teams"]?.AsArray().Count ?? 0;
        List<Check> checks =
        [
            new("the service was killed while the job ran, before it saved", killedMidRun, $"{startedToKill:0} ms after the job logged its start"),
            new("Hangfire ran the job again after the restart", afterKill is not null, $"{killedToReport:0} ms after the kill"),
            new("the report covers every team", reportTeams == teams, $"{reportTeams} of {teams} teams"),
            new(NightlyKilledReport.EqualCheck, afterKill is not null && uninterrupted is not null && JsonNode.DeepEquals(WithoutRunTimes(afterKill), WithoutRunTimes(uninterrupted)),
                uninterrupted is null ? "no uninterrupted run to compare" : "compared without runAt"),
        ];
        return new NightlyKilledReport("nightly", DateTimeOffset.UtcNow, "", machine, dll, teams, teams * 3, load.AcknowledgedCommands.Count,
            Math.Round(startedToKill), Math.Round(killedToReport), afterKill?["date"]?.ToString(), reportTeams, checks);
    }

    /// <summary>The report without the moment it was run at.</summary>
    private static JsonNode WithoutRunTimes(JsonNode report)
    {
        var copy = report.DeepClone().AsObject();
        copy.Remove("runAt");
        return copy;
    }
}
