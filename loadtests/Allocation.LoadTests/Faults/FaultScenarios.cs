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
    TimeSpan? Settle = null);

/// <summary>One fault and how long the service took to come back from it.</summary>
public sealed record Recovery(int Number, double UnreadyAfterMs, double ReadyAfterMs, double FirstAcknowledgedAfterMs);

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
                $"{Invariants.Violations.Count} (+{Invariants.BoardViolations.Count} boards) | ready after median {Median(ready):0} ms, max {ready.Max():0} ms; first acknowledged command after median {Median(ack):0} ms, max {ack.Max():0} ms; " +
                $"{LostAnswers} answers lost and retried, {Unavailable} × 503, {ServerErrors} other 5xx, {Hung} hung | {Machine.ProcessorCount} cores, load {Machine.LoadAverage} | {Date:yyyy-MM-dd} |";
        }
    }

    private string Fault => Scenario switch
    {
        "kill" => "SIGKILL of the service, restarted",
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

    public const string Usage = """
        usage: Allocation.LoadTests faults kill|pgcrash|hostile --service PATH/Allocation.Service.dll [options]
          --faults N          kills (kill), database crashes (pgcrash) or hostile requests (hostile) (default 20, 5, 10000)
          --interval S        seconds of load between faults (default 10)
          --outage S          pgcrash: seconds the database stays down (default 5)
          --rate R            commands per second, mixed (default 100)
          --concurrency N     senders (default 32)
          --children N        children the load works on (default 1000)
          --results DIR       where to write the results file (default loadtests/results)
        """;

    public static async Task<int> Run(string[] args)
    {
        FaultOptions options;
        string scenario;
        string? results;
        try
        {
            scenario = args.Length > 0 && args[0] is "kill" or "pgcrash" or "hostile" ? args[0] : throw new ArgumentException("Name kill, pgcrash or hostile.");
            var values = RunOptions.Pairs(args, 1);
            string? Take(string name) => values.Remove(name, out var v) ? v : null;
            double Number(string name, double fallback) => Take(name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;
            options = new FaultOptions(
                Take("service") ?? throw new ArgumentException("--service is required."),
                (int)Number("faults", scenario switch { "kill" => 20, "pgcrash" => 5, _ => 10_000 }),
                TimeSpan.FromSeconds(Number("interval", 10)),
                Number("rate", 100),
                (int)Number("concurrency", 32),
                Teams: 6,
                WorkersPerTeam: 8,
                Ceiling: 10,
                Children: (int)Number("children", 1000),
                Outage: TimeSpan.FromSeconds(Number("outage", 5)),
                Tail: TimeSpan.FromSeconds(5));
            results = Take("results");
            if (values.Count > 0)
            {
                throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var report = scenario switch
        {
            "kill" => await KillAsync(options, Console.WriteLine),
            "pgcrash" => await CrashDatabaseAsync(options, Console.WriteLine),
            _ => await HostileAsync(options, Console.WriteLine),
        };
        foreach (var check in report.Checks)
        {
            Console.WriteLine($"{(check.Pass ? "ok  " : "FAIL")} {check.Name}: {check.Detail}");
        }

        Console.WriteLine("results: " + ResultsFile.Write($"faults-{scenario}", report with { Command = "faults " + string.Join(' ', args) }, results));
        Console.WriteLine(report.MarkdownRow);
        return report.Pass ? 0 : 1;
    }

    /// <summary>SIGKILLs the service <see cref="FaultOptions.Faults"/> times under load, starting it again each time.</summary>
    public static Task<FaultRunReport> KillAsync(FaultOptions options, Action<string> log) =>
        RunAsync("kill", options, log, async (service, _, n) =>
        {
            var killedAt = Stopwatch.StartNew();
            await service.KillAsync();
            await service.StartAsync();
            var ready = killedAt.Elapsed.TotalMilliseconds;
            log($"kill {n}: ready again after {ready:0} ms");
            return (killedAt, 0, ready);
        });

    /// <summary>Crashes PostgreSQL under load <see cref="FaultOptions.Faults"/> times; the service keeps running.</summary>
    public static Task<FaultRunReport> CrashDatabaseAsync(FaultOptions options, Action<string> log) =>
        RunAsync("pgcrash", options, log, async (service, database, n) =>
        {
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
            return (crashedAt, unready.TotalMilliseconds, ready);
        });

    private static async Task<FaultRunReport> RunAsync(string scenario, FaultOptions options, Action<string> log,
        Func<ServiceProcess, DurablePostgres, int, Task<(Stopwatch Since, double UnreadyMs, double ReadyMs)>> fault)
    {
        var machine = Machine.Describe();
        var runId = $"f{scenario[0]}-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(0x1000):x3}";
        await using var database = await DurablePostgres.StartAsync();
        await using var service = new ServiceProcess(options.ServiceDll, database.ConnectionString, "faults-" + runId);
        var start = await service.StartAsync();
        log($"service ready on {service.Url} in {start.TotalMilliseconds:0} ms (PostgreSQL on port {database.Port}, fsync on)");

        var tally = new ClientTally();
        using var admin = new CommandClient(service.Url, "U-ADMIN", tally);
        using var manager = new CommandClient(service.Url, "U-HOS", tally);
        var load = await CommandLoad.SetUpAsync(admin, runId, options.Teams, options.WorkersPerTeam, options.Ceiling, options.Children);
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
                var (since, unready, ready) = await fault(service, database, n);
                while (load.AcknowledgedCommands.Count == before && since.Elapsed < TimeSpan.FromSeconds(120))
                {
                    await Task.Delay(20);
                }

                recoveries.Add(new Recovery(n, Math.Round(unready), Math.Round(ready), Math.Round(since.Elapsed.TotalMilliseconds)));
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
