using System.Diagnostics;
using System.Globalization;

namespace Allocation.LoadTests.Faults;

/// <summary>The load and faults of one fault run.</summary>
public sealed record FaultOptions(
    string ServiceDll,
    int Faults,
    TimeSpan Interval,
    double Rate,
    int Concurrency = 16,
    int Teams = 3,
    int WorkersPerTeam = 6,
    int Ceiling = 6,
    int Children = 200,
    TimeSpan? Outage = null,
    TimeSpan? Tail = null,
    TimeSpan? Settle = null,
    int Watchers = 0);

/// <summary>One fault and how long the service took to come back from it.</summary>
public sealed record Recovery(int Number, double UnreadyAfterMs, double ReadyAfterMs, double FirstAcknowledgedAfterMs,
    double ServedAllAfterMs = 0, double BoardsHeldAfterMs = 0);

/// <summary>What a fault reports: when it struck, and when the service was unready, ready, serving every grain of the
/// run again (silo lost), and when every board client held the board again (reconnect storm).</summary>
public sealed record FaultTimes(Stopwatch Since, double UnreadyMs, double ReadyMs, double ServedAllMs = 0, double BoardsHeldMs = 0);

/// <summary>The processes of one run: the service the load and the board clients talk to, and for <c>silo</c> the other
/// node of the cluster, which is the one killed.</summary>
public sealed record FaultRig(DurablePostgres Database, ServiceProcess Front, ServiceProcess? Other, CommandClient Manager, CommandLoad Load,
    BoardWatchers? Watchers);

public sealed record FaultRunReport(
    string Scenario, DateTimeOffset Date, string Command, Machine Machine, string Service, FaultOptions Options, double Seconds,
    long Sent, int Acknowledged, long Refused, int AcknowledgedByReplay, long LostAnswers, long Unavailable, long Hung, long ServerErrors,
    IReadOnlyList<string> ServerErrorSamples, IReadOnlyList<string> UnavailableWithoutRetryAdvice, long MaxAnsweredMs,
    IReadOnlyList<Recovery> Recoveries, InvariantReport Invariants, IReadOnlyList<Check> Checks)
{
    public bool Pass => Checks.All(c => c.Pass);

    /// <summary>The hostile input scenario's own figures.</summary>
    public HostileReport? Hostile { get; init; }

    public string MarkdownRow
    {
        get
        {
            if (Hostile is { } h)
            {
                return $"| hostile | {h.Sent} requests from `/openapi/v1.json` over {h.Endpoints} operations, after {Options.Interval.TotalSeconds:0} s of {Options.Rate:0}/s mixed commands | " +
                    $"wrong types, missing/extra fields, huge strings and numbers, control characters, bad ids, wrong tokens, replayed request ids | " +
                    $"{Acknowledged}; {h.Refused} hostile refused, {h.Accepted} accepted | {Invariants.Lost} | {Invariants.Duplicated} | " +
                    $"{Invariants.Violations.Count} (+{Invariants.BoardViolations.Count} boards); {h.ServerErrors} × 5xx, {h.NotProblemDocuments} refusals not a problem document (+{h.RejectedByServer} refused by Kestrel with no body), " +
                    $"{h.StateChangedByRefused} refused batches changed state ({h.RefusedCoveredByStateCheck} refusals checked) | — | {Machine.ProcessorCount} cores, load {Machine.LoadAverage} | {Date:yyyy-MM-dd} |";
            }

            var ready = Recoveries.Select(r => r.ReadyAfterMs).DefaultIfEmpty().ToList();
            var ack = Recoveries.Select(r => r.FirstAcknowledgedAfterMs).DefaultIfEmpty().ToList();
            return $"| {Scenario} | {Options.Rate:0}/s mixed commands, {Options.Concurrency} senders, {Seconds:0} s | {Recoveries.Count} × {Fault} | " +
                $"{Acknowledged} ({AcknowledgedByReplay} by a replayed retry); {Refused} refused by rule | {Invariants.Lost} | {Invariants.Duplicated} | " +
                $"{Invariants.Violations.Count} (+{Invariants.BoardViolations.Count} boards) | ready after median {Median(ready):0} ms, max {ready.Max():0} ms; first acknowledged command after median {Median(ack):0} ms, max {ack.Max():0} ms; {Extra}" +
                $"{LostAnswers} answers lost and retried, {Unavailable} × 503, {ServerErrors} other 5xx, {Hung} hung | {Machine.ProcessorCount} cores, load {Machine.LoadAverage} | {Date:yyyy-MM-dd} |";
        }
    }

    /// <summary>The silo and storm scenarios' own recovery times.</summary>
    private string Extra
    {
        get
        {
            var served = Recoveries.Where(r => r.ServedAllAfterMs > 0).Select(r => r.ServedAllAfterMs).ToList();
            var held = Recoveries.Where(r => r.BoardsHeldAfterMs > 0).Select(r => r.BoardsHeldAfterMs).ToList();
            return (served.Count > 0 ? $"survivor served every grain after median {Median(served):0} ms, max {served.Max():0} ms; " : "")
                + (held.Count > 0 ? $"all {Options.Watchers} board clients held the board again after median {Median(held):0} ms, max {held.Max():0} ms; " : "");
        }
    }

    private string Fault => Scenario switch
    {
        "kill" => "SIGKILL of the service, restarted",
        "silo" => "SIGKILL of one of two silos (not the one the load and boards use), restarted after the survivor served every grain (but the last)",
        "storm" => $"SIGKILL of the host of {Options.Watchers} board clients, restarted",
        "pgcrash" => $"`pg_ctl -m immediate` of PostgreSQL, {Options.Outage?.TotalSeconds:0} s down, started again",
        _ => Scenario,
    };

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}

/// <summary>
/// The fault scenarios that break a process under the mixed command load and end with the shared invariant check:
/// <c>kill</c> SIGKILLs the service and starts it again; <c>pgcrash</c> crashes PostgreSQL (<c>pg_ctl -m immediate</c>)
/// while the service keeps running, and starts it again. Both run the built or published service on a durable
/// PostgreSQL of their own. The test suite runs short versions of the same code (tests/…/Faults).
/// </summary>
public static class FaultScenarios
{
    public const string FactsCheck = "every acknowledged command in effect once; ceilings, caseloads and the audit trail hold";
    public const string BoardsCheck = "each team board equals the board rebuilt from the children and workers";
    public const string BoardClientsCheck = "each board client holds the board the server serves";

    public const string Usage = """
        usage: Allocation.LoadTests faults kill|pgcrash|silo|storm|hostile --service PATH/Allocation.Service.dll [options]
               Allocation.LoadTests faults soak --service PATH/Allocation.Service.dll [options]  (no fault; lists its own options)
          --faults N          kills (kill, silo, storm), database crashes (pgcrash) or hostile requests (hostile) (default 20, 5, 3, 3, 10000)
          --watchers N        board clients (default 2000 for storm, 60 for silo, none otherwise)
        Allocation.LoadTests faults nightly --service PATH [--teams 400 --claim 20]: the nightly job killed mid-run; --claim
          seconds before a dead run's claim and lock lapse (NightlyChecks:InvisibilityTimeout and LockTimeout)
          --interval S        seconds of load between faults (default 10)
          --outage S          pgcrash: seconds the database stays down (default 5)
          --rate R            commands per second, mixed (default 100)
          --concurrency N     senders (default 32)
          --children N        children the load works on (default 1000)
          --results DIR       where to write the results file (default loadtests/results)
        """;

    public static async Task<int> Run(string[] args)
    {
        if (args is ["soak", ..])
        {
            return await SoakScenario.Run(args);
        }

        if (args is ["nightly", ..])
        {
            if (!OptionValues.TryRead(args, 1, Usage, values => (Dll: values.Take("service") ?? throw new ArgumentException("--service is required."),
                    Teams: (int)values.Number("teams", 400), Claim: TimeSpan.FromSeconds(values.Number("claim", 20)), Results: values.Take("results")),
                out var nightly))
            {
                return 2;
            }

            var killed = await NightlyKilledScenario.RunAsync(nightly.Dll, nightly.Teams, nightly.Claim, Console.WriteLine);
            return Finish(killed.Checks, "faults-nightly", killed with { Command = "faults " + string.Join(' ', args) }, nightly.Results, killed.MarkdownRow);
        }

        var scenario = args.Length > 0 && args[0] is "kill" or "pgcrash" or "silo" or "storm" or "hostile" ? args[0] : null;
        if (scenario is null)
        {
            Console.Error.WriteLine("Name kill, pgcrash, silo, storm, hostile or soak.");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!OptionValues.TryRead(args, 1, Usage, values => (Options: new FaultOptions(
                values.Take("service") ?? throw new ArgumentException("--service is required."),
                (int)values.Number("faults", scenario switch { "kill" => 20, "pgcrash" => 5, "silo" or "storm" => 3, _ => 10_000 }),
                TimeSpan.FromSeconds(values.Number("interval", 10)),
                values.Number("rate", 100),
                (int)values.Number("concurrency", 32),
                Teams: 6,
                WorkersPerTeam: 8,
                Ceiling: 10,
                Children: (int)values.Number("children", 1000),
                Outage: TimeSpan.FromSeconds(values.Number("outage", 5)),
                Tail: TimeSpan.FromSeconds(5),
                Watchers: (int)values.Number("watchers", scenario switch { "storm" => 2000, "silo" => 60, _ => 0 })), Results: values.Take("results")),
            out var parsed))
        {
            return 2;
        }

        var (options, results) = parsed;
        var report = scenario switch
        {
            "kill" => await KillAsync(options, Console.WriteLine),
            "pgcrash" => await CrashDatabaseAsync(options, Console.WriteLine),
            "silo" => await SiloLostAsync(options, Console.WriteLine),
            "storm" => await ReconnectStormAsync(options, Console.WriteLine),
            _ => await HostileAsync(options, Console.WriteLine),
        };
        return Finish(report.Checks, $"faults-{scenario}", report with { Command = "faults " + string.Join(' ', args) }, results, report.MarkdownRow);
    }

    /// <summary>Prints the checks, writes the results file and the table row; the exit code.</summary>
    public static int Finish<T>(IReadOnlyList<Check> checks, string name, T report, string? results, string row)
    {
        foreach (var check in checks)
        {
            Console.WriteLine($"{(check.Pass ? "ok  " : "FAIL")} {check.Name}: {check.Detail}");
        }

        Console.WriteLine("results: " + ResultsFile.Write(name, report, results));
        Console.WriteLine(row);
        return checks.All(c => c.Pass) ? 0 : 1;
    }

    /// <summary>SIGKILLs the service <see cref="FaultOptions.Faults"/> times under load, starting it again each time.</summary>
    public static Task<FaultRunReport> KillAsync(FaultOptions options, Action<string> log) =>
        RunAsync("kill", options, log, async (rig, n) =>
        {
            var killedAt = Stopwatch.StartNew();
            await rig.Front.KillAsync();
            await rig.Front.StartAsync();
            var ready = killedAt.Elapsed.TotalMilliseconds;
            log($"kill {n}: ready again after {ready:0} ms");
            return new FaultTimes(killedAt, 0, ready);
        });

    /// <summary>Crashes PostgreSQL under load <see cref="FaultOptions.Faults"/> times; the service keeps running.</summary>
    public static Task<FaultRunReport> CrashDatabaseAsync(FaultOptions options, Action<string> log) =>
        RunAsync("pgcrash", options, log, async (rig, n) =>
        {
            var (service, database) = (rig.Front, rig.Database);
            var pid = service.Pid;
            var crashedAt = Stopwatch.StartNew();
            await database.CrashAsync();
            var unready = await WaitForReadyAsync(service.Url, ready: false, TimeSpan.FromSeconds(60));
            await Task.Delay(options.Outage ?? TimeSpan.FromSeconds(5));
            await database.StartAgainAsync();
            var startedAt = crashedAt.Elapsed.TotalMilliseconds;
            await WaitForReadyAsync(service.Url, ready: true, TimeSpan.FromSeconds(120));
            var ready = crashedAt.Elapsed.TotalMilliseconds;
            if (service.Pid != pid)
            {
                throw new InvalidOperationException($"The service process ended while the database was down:\n{service.Tail()}");
            }

            log($"crash {n}: unready after {unready.TotalMilliseconds:0} ms, database started at {startedAt:0} ms, ready again after {ready:0} ms");
            return new FaultTimes(crashedAt, unready.TotalMilliseconds, ready);
        });

    /// <summary>
    /// Two silos (two service processes) on one PostgreSQL; the load and the board clients use one of them, and the other
    /// is SIGKILLed <see cref="FaultOptions.Faults"/> times. Each time: how long until the survivor serves every grain of
    /// the run (children, workers, team boards: those that lived on the dead silo are activated again on the survivor),
    /// then the dead one is started again so that the next kill takes grains with it too (not after the last kill).
    /// </summary>
    public static Task<FaultRunReport> SiloLostAsync(FaultOptions options, Action<string> log) =>
        RunAsync("silo", options with { Watchers = Math.Max(options.Watchers, 1) }, log, async (rig, n) =>
        {
            var victim = rig.Other!;
            var killedAt = Stopwatch.StartNew();
            await victim.KillAsync();
            var served = await ServedAllAsync(rig.Manager, rig.Load, killedAt, TimeSpan.FromSeconds(180));
            log($"silo {n}: the survivor served every grain of the run after {served:0} ms");
            if (n == options.Faults)
            {
                // The last kill: the survivor carries on alone to the end of the run.
                return new FaultTimes(killedAt, 0, 0, served);
            }

            await victim.StartAsync();
            var ready = killedAt.Elapsed.TotalMilliseconds;
            log($"silo {n}: the killed silo ready again after {ready:0} ms");
            return new FaultTimes(killedAt, 0, ready, served);
        }, twoSilos: true);

    /// <summary>
    /// <see cref="FaultOptions.Watchers"/> board clients on one host, which is SIGKILLed and started again
    /// <see cref="FaultOptions.Faults"/> times under load: how long until every client has reconnected and holds the
    /// server's board again; no board may go back to an earlier version on any screen.
    /// </summary>
    public static Task<FaultRunReport> ReconnectStormAsync(FaultOptions options, Action<string> log) =>
        RunAsync("storm", options with { Watchers = Math.Max(options.Watchers, 1) }, log, async (rig, n) =>
        {
            var killedAt = Stopwatch.StartNew();
            var since = Stopwatch.GetTimestamp();
            await rig.Front.KillAsync();
            await rig.Front.StartAsync();
            var ready = killedAt.Elapsed.TotalMilliseconds;
            // The restarted service refuses the tokens the dead one gave: the clients' next attempt takes a new one.
            await rig.Manager.RenewTokenAsync();
            var held = await rig.Watchers!.ResubscribedAsync(since, TimeSpan.FromSeconds(180));
            var all = held.Count == rig.Watchers.All.Count;
            log($"storm {n}: ready after {ready:0} ms; {held.Count} of {rig.Watchers.All.Count} clients held the board again, the last after {(held.Count > 0 ? held.Max() : 0):0} ms");
            return new FaultTimes(killedAt, 0, ready, 0, all ? held.Max() : -1);
        });

    /// <summary>Reads every child, worker and team board of the run until each answers; the time since the kill.</summary>
    private static async Task<double> ServedAllAsync(CommandClient reader, CommandLoad load, Stopwatch since, TimeSpan timeout)
    {
        var paths = load.Children.Select(c => $"/api/children/{c.Id}").Concat(load.Workers.Select(w => $"/api/workers/{w.Id}"))
            .Concat(load.Teams.Select(t => $"/api/teams/{t}/board")).ToList();
        var waiting = new HashSet<string>(paths);
        while (waiting.Count > 0)
        {
            if (since.Elapsed > timeout)
            {
                throw new TimeoutException($"{waiting.Count} grains of the run still not served {timeout.TotalSeconds:0} s after the silo was killed, e.g. {waiting.First()}.");
            }

            var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(waiting, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (path, ct) =>
            {
                // 404: a child the load never got to refer is known to be unknown, which needs the survivor too.
                if ((await reader.OnceAsync(HttpMethod.Get, path, null, ct)).Status is 200 or 404)
                {
                    answered.Add(path);
                }
            });
            waiting.ExceptWith(answered);
        }

        return since.Elapsed.TotalMilliseconds;
    }

    private static async Task<FaultRunReport> RunAsync(string scenario, FaultOptions options, Action<string> log,
        Func<FaultRig, int, Task<FaultTimes>> fault, bool twoSilos = false)
    {
        var machine = Machine.Describe();
        var runId = $"f{scenario[0]}-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(0x1000):x3}";
        await using var database = await DurablePostgres.StartAsync();
        var silos = twoSilos ? await SharedCertificateAsync() : null;
        await using var service = new ServiceProcess(options.ServiceDll, database.ConnectionString, "faults-" + runId, silos);
        await using var other = twoSilos ? new ServiceProcess(options.ServiceDll, database.ConnectionString, "faults-" + runId, silos) : null;
        var start = await service.StartAsync();
        log($"service ready on {service.Url} in {start.TotalMilliseconds:0} ms (PostgreSQL on port {database.Port}, fsync on)");
        if (other is not null)
        {
            log($"second silo ready on {other.Url} in {(await other.StartAsync()).TotalMilliseconds:0} ms");
        }

        var tally = new ClientTally();
        using var admin = new CommandClient(service.Url, "U-ADMIN", tally);
        using var manager = new CommandClient(service.Url, "U-HOS", tally);
        var load = await CommandLoad.SetUpAsync(admin, runId, options.Teams, options.WorkersPerTeam, options.Ceiling, options.Children);
        await using var watchers = options.Watchers > 0 ? await BoardWatchers.ConnectAsync(service.Url, load.Teams, options.Watchers, manager.TokenAsync) : null;
        if (watchers is not null)
        {
            log($"{options.Watchers} board clients subscribed on {service.Url}");
        }

        var rig = new FaultRig(database, service, other, manager, load, watchers);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(manager, options.Concurrency, options.Rate, stop.Token);
        var recoveries = new List<Recovery>();
        try
        {
            for (var n = 1; n <= options.Faults; n++)
            {
                await Task.Delay(options.Interval);
                if (running.IsCompleted)
                {
                    await running;
                }

                var before = load.AcknowledgedCommands.Count;
                var times = await fault(rig, n);
                while (load.AcknowledgedCommands.Count == before && times.Since.Elapsed < TimeSpan.FromSeconds(120))
                {
                    await Task.Delay(20);
                }

                recoveries.Add(new Recovery(n, Math.Round(times.UnreadyMs), Math.Round(times.ReadyMs), Math.Round(times.Since.Elapsed.TotalMilliseconds),
                    Math.Round(times.ServedAllMs), Math.Round(times.BoardsHeldMs)));
            }

            await Task.Delay(options.Tail ?? TimeSpan.FromSeconds(3));
        }
        finally
        {
            stop.Cancel();
            await running;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        log($"load stopped: {load.Sent} sent, {load.AcknowledgedCommands.Count} acknowledged, {load.Refused} refused; checking invariants");
        var invariants = await Invariants.CheckAsync(manager, load, options.Settle);
        log("invariants: " + invariants);
        var acknowledged = load.AcknowledgedCommands;
        List<Check> checks =
        [
            new(FactsCheck, invariants.FactsHold, invariants.ToString()),
            new(BoardsCheck, invariants.BoardsHold, invariants.BoardsHold ? $"{load.Teams.Count} boards" : string.Join("\n", invariants.BoardViolations)),
            new("commands acknowledged under faults", acknowledged.Count > 0 && recoveries.Count == options.Faults,
                $"{acknowledged.Count} acknowledged over {recoveries.Count} faults"),
            new("no answer other than 503 among the 5xx", tally.ServerErrors == 0, string.Join(" | ", tally.ServerErrorSamples)),
            new("every 503 asks for a retry with the same requestId", tally.UnhelpfulUnavailable.Count == 0, string.Join(" | ", tally.UnhelpfulUnavailable)),
        ];
        if (scenario == "pgcrash")
        {
            checks.Add(new("no request hung past its timeout", tally.Hung == 0, $"{tally.Hung} hung; slowest answer {tally.MaxAnsweredMs} ms"));
        }

        if (watchers is not null)
        {
            var differences = await watchers.CompareAsync(manager, options.Settle ?? TimeSpan.FromSeconds(30));
            log($"board clients: {watchers.DeltasApplied} deltas applied, {watchers.GapResyncs} snapshots after a skipped version, {watchers.Backwards} backwards, {differences.Count} differing");
            checks.Add(new(BoardClientsCheck, differences.Count == 0,
                differences.Count == 0 ? $"{watchers.All.Count} clients" : string.Join("\n", differences.Take(20))));
            checks.Add(new("no board went back to an earlier version on a screen", watchers.Backwards == 0, $"{watchers.Backwards} times"));
            if (scenario == "storm")
            {
                checks.Add(new("every board client held the board again after each kill", recoveries.All(r => r.BoardsHeldAfterMs >= 0),
                    string.Join(", ", recoveries.Select(r => $"{r.BoardsHeldAfterMs:0} ms"))));
            }
        }

        if (!checks.All(c => c.Pass))
        {
            log("the service's last lines:\n" + service.Tail(40));
        }

        return new FaultRunReport(scenario, DateTimeOffset.UtcNow, "", machine, options.ServiceDll, options, Math.Round(seconds, 1),
            load.Sent, acknowledged.Count, load.Refused, acknowledged.Count(a => a.Replayed), tally.LostAnswers, tally.Unavailable, tally.Hung,
            tally.ServerErrors, tally.ServerErrorSamples, tally.UnhelpfulUnavailable, tally.MaxAnsweredMs, recoveries, invariants, checks);
    }

    /// <summary>
    /// Hostile requests made from the OpenAPI document (<see cref="FaultOptions.Faults"/> of them) after a spell of the
    /// command load, at entities of their own; then the invariant check over the load's.
    /// </summary>
    public static async Task<FaultRunReport> HostileAsync(FaultOptions options, Action<string> log)
    {
        var machine = Machine.Describe();
        var runId = $"fh-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(0x1000):x3}";
        await using var database = await DurablePostgres.StartAsync();
        await using var service = new ServiceProcess(options.ServiceDll, database.ConnectionString, "faults-" + runId);
        await service.StartAsync();
        var tally = new ClientTally();
        using var admin = new CommandClient(service.Url, "U-ADMIN", tally);
        using var manager = new CommandClient(service.Url, "U-HOS", tally);
        var clock = Stopwatch.StartNew();

        // The load's entities, which the hostile requests never name, and a team of the hostile requests' own.
        var load = await CommandLoad.SetUpAsync(admin, runId, options.Teams, options.WorkersPerTeam, options.Ceiling, options.Children);
        using (var stop = new CancellationTokenSource(options.Interval))
        {
            await load.RunAsync(manager, options.Concurrency, options.Rate, stop.Token);
        }

        var target = await CommandLoad.SetUpAsync(admin, runId + "-h", 2, 2, options.Ceiling, 4);
        var child = target.Children[0].Id;
        await manager.SendAsync(HttpMethod.Post, $"/api/children/{child}/refer", new { requestId = child + "-refer", teamId = target.Teams[0] });
        await manager.SendAsync(HttpMethod.Post, $"/api/children/{child}/allocate", new { requestId = child + "-allocate", workerId = target.Workers[0].Id });
        string ValidId(string name) => name.ToLowerInvariant() switch
        {
            var n when n.Contains("team", StringComparison.Ordinal) => target.Teams[0],
            var n when n.Contains("worker", StringComparison.Ordinal) => target.Workers[1].Id,
            var n when n.Contains("child", StringComparison.Ordinal) => child,
            var n when n.Contains("kpi", StringComparison.Ordinal) => "vacancy",
            var n when n.Contains("date", StringComparison.Ordinal) => DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            var n when n.Contains("file", StringComparison.Ordinal) || n.Contains("name", StringComparison.Ordinal) => "children.csv",
            _ => "x",
        };

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = service.Url, Timeout = TimeSpan.FromSeconds(60) };
        var document = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!.AsObject();
        var tokens = new Dictionary<string, string>
        {
            ["leader"] = await Allocation.Service.Import.ApiSignIn.DemoSignInAsync(http, "U-HOS") ?? throw new InvalidOperationException("No demo sign-in."),
            ["worker"] = await Allocation.Service.Import.ApiSignIn.DemoSignInAsync(http, "W-002") ?? throw new InvalidOperationException("No demo sign-in."),
        };
        var hostile = new HostileInput(document, tokens, ValidId);
        var batches = hostile.Generate(options.Faults);
        log($"hostile: {batches.Sum(b => b.Count)} requests in {batches.Count} batches over {hostile.Endpoints} operations");
        var result = await HostileInput.RunAsync(http, batches, hostile.Endpoints, database.ConnectionString, log, options.Concurrency);
        log("hostile: " + result);

        var invariants = await Invariants.CheckAsync(manager, load, options.Settle);
        log("invariants: " + invariants);
        var acknowledged = load.AcknowledgedCommands;
        List<Check> checks =
        [
            new("no 5xx answer to a hostile request", result.ServerErrors == 0, $"{result.ServerErrors} of {result.Sent}"),
            new("every refusal a problem document", result.NotProblemDocuments == 0, $"{result.NotProblemDocuments} of {result.Refused}"),
            new("no state changed by refused requests", result.StateChangedByRefused == 0,
                $"{result.RefusedCoveredByStateCheck} requests in all-refused batches; {result.StateChangedByRefused} batches changed state"),
            new("hostile requests", result.Failures.Count == 0, result.ToString()),
            new(FactsCheck, invariants.FactsHold, invariants.ToString()),
            new(BoardsCheck, invariants.BoardsHold, invariants.BoardsHold ? $"{load.Teams.Count} boards" : string.Join("\n", invariants.BoardViolations)),
        ];
        return new FaultRunReport("hostile", DateTimeOffset.UtcNow, "", machine, options.ServiceDll, options, Math.Round(clock.Elapsed.TotalSeconds, 1),
            load.Sent + result.Sent, acknowledged.Count, load.Refused, acknowledged.Count(a => a.Replayed), tally.LostAnswers, tally.Unavailable, tally.Hung,
            tally.ServerErrors + result.ServerErrors, [.. tally.ServerErrorSamples, .. result.Failures.Take(10)], tally.UnhelpfulUnavailable, tally.MaxAnsweredMs,
            [], invariants, checks) { Hostile = result };
    }

    /// <summary>One certificate for both silos of a cluster (silo to silo is mutual TLS), made with openssl as an operator
    /// would (a few KB left in the temporary directory).</summary>
    private static async Task<Dictionary<string, string>> SharedCertificateAsync()
    {
        var directory = Directory.CreateTempSubdirectory("allocation-faults-tls-").FullName;
        var (key, certificate, pfx) = (Path.Combine(directory, "silo.key"), Path.Combine(directory, "silo.crt"), Path.Combine(directory, "silo.pfx"));
        await DurablePostgres.Run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
            "-subj", "/CN=allocation-silo", "-addext", "extendedKeyUsage=serverAuth,clientAuth"], asPostgres: false);
        await DurablePostgres.Run("openssl", ["pkcs12", "-export", "-in", certificate, "-inkey", key, "-out", pfx, "-passout", "pass:faults"], asPostgres: false);
        return new Dictionary<string, string> { ["Orleans__Tls__CertificatePath"] = pfx, ["Orleans__Tls__CertificatePassword"] = "faults" };
    }

    /// <summary>Polls <c>/health/ready</c> (no token) until it is (or is no longer) 200; the time that took.</summary>
    private static async Task<TimeSpan> WaitForReadyAsync(Uri url, bool ready, TimeSpan timeout)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(15) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode == ready)
                {
                    return clock.Elapsed;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                if (!ready)
                {
                    return clock.Elapsed;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"/health/ready did not become {(ready ? "ready" : "unready")} within {timeout.TotalSeconds:0} s.");
    }
}
