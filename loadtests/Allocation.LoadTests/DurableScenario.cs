using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.LoadTests;

/// <summary>
/// Allocations per second against a service on durable PostgreSQL, on a ladder of rising arrival rates.
/// Teams and full-time workers are created first (enough places for every step). Before each step the step's
/// children are referred (closed loop, not timed); then only allocations are sent, open loop at the step's rate, each
/// to a worker of the child's team with room, so every one of them should succeed. The ladder stops after the first
/// step whose p99 passes the limit. At the end every worker is read back: it must hold exactly the children it was given.
/// </summary>
public static class DurableScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests durable [options]
          --url URL               the running service; loopback only (default http://127.0.0.1:5080)
          --rates R1,R2,...       allocations per second, one step each (default 250,500,1000,1500,2250,3000)
          --step-seconds S        length of each step (default 10)
          --workers-per-team N    full-time social workers per team (default 10)
          --p99-ms M              a step passes with p99 at most M ms and no errors (default 50)
          --warmup-rate R         allocations per second for a first, uncounted step that warms the service (default 200)
          --warmup-seconds S      its length; 0 for none (default 10)
          --label TEXT            names the run in the results file (e.g. adonet, group-commit)
          --all-steps             run every step even after one fails
          --results DIR           where to write the results file (default loadtests/results)
        """;

    private const int SetupParallelism = 32;

    private sealed record TeamBody(string Name);
    private sealed record WorkerBody(string Name, string TeamId, string Role, decimal Fte, int? Ceiling);
    private sealed record ReferBody(string RequestId, string TeamId, string By);
    private sealed record AllocateBody(string RequestId, string WorkerId, string By);
    private sealed record Worker(string Id, string TeamId, int Ceiling, int CaseloadCount);

    public sealed record StepSummary(double Rate, double Seconds, int Allocations, double AchievedRate, int Ok, int Errors,
        Latency Latency, double MaxSendLagMs, string? LoadAverage, double GeneratorCpuSeconds, IReadOnlyList<string> ErrorSamples, bool Pass);

    public sealed record DurableReport(string Scenario, string? Label, string RunId, DateTimeOffset Date, string Command, Machine Machine,
        string Url, int Teams, int Workers, double P99LimitMs, StepSummary? Warmup, IReadOnlyList<StepSummary> Steps, double? HighestPassingRate,
        IReadOnlyList<Check> Checks);

    public static async Task<int> Run(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        try
        {
            var report = await Run(options);
            var path = Write(report, options.ResultsDirectory);
            Console.WriteLine("results: " + path);
            foreach (var row in MarkdownRows(report))
            {
                Console.WriteLine(row);
            }

            return report.Checks.All(c => c.Pass) ? 0 : 1;
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"The service at {options.Url} did not answer as expected: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The steps a run takes: the warm-up (if any) for its own seconds, then each rate for the step's, and
    /// the allocations each plans (a place is made for every one).</summary>
    public static IReadOnlyList<(double Rate, double Seconds, bool Warmup, int Allocations)> Ladder(
        double[] rates, double stepSeconds, double warmupRate, double warmupSeconds)
    {
        var steps = rates.Select(r => Step(r, stepSeconds, false));
        return (warmupSeconds > 0 ? steps.Prepend(Step(warmupRate, warmupSeconds, true)) : steps).ToList();

        static (double, double, bool, int) Step(double rate, double seconds, bool warmup) => (rate, seconds, warmup, (int)Math.Ceiling(rate * seconds));
    }

    private static async Task<DurableReport> Run(Options options)
    {
        var machine = Machine.Describe();
        using var clients = await ServiceClients.SignIn(options.Url, maxConnectionsPerServer: 2048);
        var (admin, manager) = (clients.Admin, clients.HeadOfService);
        using (var ready = await admin.GetAsync("/health/ready"))
        {
            ready.EnsureSuccessStatusCode();
        }

        // Every id this run creates starts with the run id, so runs against the same service never collide.
        var runId = $"du-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
        var ladder = Ladder(options.Rates, options.StepSeconds, options.WarmupRate, options.WarmupSeconds);
        var places = ladder.Sum(s => s.Allocations);
        var workers = await CreateWorkers(admin, options, runId, places);
        var teams = workers.GroupBy(w => w.TeamId).Select(g => g.ToList()).ToList();
        var given = workers.ToDictionary(w => w.Id, _ => 0);
        var allocatedTo = workers.ToDictionary(w => w.Id, _ => 0);
        Console.WriteLine($"run {runId}: {teams.Count} teams, {workers.Count} workers, {workers.Sum(w => w.Ceiling)} places for {places} allocations");

        var steps = new List<StepSummary>();
        StepSummary? warmup = null;
        var childCount = 0;
        for (var n = 0; n < ladder.Count; n++)
        {
            var (rate, seconds, isWarmup, count) = ladder[n];
            var plan = new List<Step>(count);
            var referrals = new List<(string ChildId, string TeamId)>(count);
            for (var i = 0; i < count; i++, childCount++)
            {
                var team = teams[childCount % teams.Count];
                var worker = team.First(w => given[w.Id] < w.Ceiling);
                given[worker.Id]++;
                var childId = $"{runId}-c{childCount}";
                referrals.Add((childId, worker.TeamId));
                plan.Add(new Step("allocate", $"/api/children/{childId}/allocate", new AllocateBody($"{childId}-allocate", worker.Id, "load-test"),
                    Expect.Success, []));
            }

            await ForEach(referrals, async r =>
            {
                using var response = await manager.PostAsJsonAsync($"/api/children/{r.ChildId}/refer", new ReferBody($"{r.ChildId}-refer", r.TeamId, "load-test"), Json.Options);
                response.EnsureSuccessStatusCode();
            });

            // Let the referrals' own work (board deltas, reminders) drain before the clock starts.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var load = Machine.Describe().LoadAverage;
            var cpu = Environment.CpuUsage.TotalTime;
            var (results, elapsed, maxSendLag) = await OpenLoop.Run(manager, plan, rate, TimeSpan.FromSeconds(seconds));
            cpu = Environment.CpuUsage.TotalTime - cpu;
            var stepOptions = new RunOptions("durable", options.Url, teams.Count, options.WorkersPerTeam, count, rate, TimeSpan.FromSeconds(seconds), null);
            var summary = Report.From(stepOptions, runId, machine, plan, results, elapsed, maxSendLag, []);
            var kind = summary.Kinds.Single();
            foreach (var (step, result) in plan.Zip(results))
            {
                if (result.Outcome == Outcome.Ok)
                {
                    allocatedTo[((AllocateBody)step.Body).WorkerId]++;
                }
                else if (result.Uncertain)
                {
                    // The answer was lost: the child, read back, says whether the allocation happened.
                    var child = await manager.GetFromJsonAsync<JsonElement>(step.Path[..step.Path.LastIndexOf('/')], Json.Options);
                    var body = (AllocateBody)step.Body;
                    allocatedTo[body.WorkerId] += child.TryGetProperty("workerId", out var w) && w.GetString() == body.WorkerId ? 1 : 0;
                }
            }

            var pass = kind.Errors == 0 && kind.Latency.P99Ms <= options.P99LimitMs && summary.AchievedRate >= 0.95 * rate;
            var stepSummary = new StepSummary(rate, seconds, count, Math.Round(summary.AchievedRate, 1), kind.Ok, kind.Errors, kind.Latency,
                Math.Round(summary.MaxSendLagMs, 1), load, Math.Round(cpu.TotalSeconds, 2), summary.ErrorSamples, pass);
            Console.WriteLine($"{(isWarmup ? "warm-up " : "")}{rate,6}/s  achieved {stepSummary.AchievedRate,7:0.0}/s  ok {stepSummary.Ok,6}  errors {stepSummary.Errors,5}  " +
                $"p50 {kind.Latency.P50Ms,7:0.0}  p90 {kind.Latency.P90Ms,7:0.0}  p99 {kind.Latency.P99Ms,7:0.0}  max {kind.Latency.MaxMs,7:0.0} ms  " +
                $"load {load}  generator CPU {cpu.TotalSeconds:0.0} s  {(pass ? "pass" : "FAIL")}");
            foreach (var error in summary.ErrorSamples)
            {
                Console.WriteLine("  error: " + error);
            }

            if (isWarmup)
            {
                warmup = stepSummary;
                continue;
            }

            steps.Add(stepSummary);
            if (!pass && !options.AllSteps)
            {
                break;
            }
        }

        var checks = await Verify(admin, workers, allocatedTo);
        foreach (var check in checks)
        {
            Console.WriteLine($"{(check.Pass ? "ok  " : "FAIL")} {check.Name}: {check.Detail}");
        }

        var highest = steps.TakeWhile(s => s.Pass).Select(s => (double?)s.Rate).LastOrDefault();
        return new DurableReport("durable", options.Label, runId, DateTimeOffset.UtcNow,
            "Allocation.LoadTests " + string.Join(' ', Environment.GetCommandLineArgs()[1..]), machine, options.Url.ToString(),
            teams.Count, workers.Count, options.P99LimitMs, warmup, steps, highest, checks);
    }

    private static async Task<List<Worker>> CreateWorkers(HttpClient admin, Options options, string runId, int places)
    {
        // Full-time social workers have the service's default ceiling (18); enough teams to place every allocation.
        const int assumedCeiling = 18;
        var teamCount = (int)Math.Ceiling(places / (double)(assumedCeiling * options.WorkersPerTeam)) + 1;
        var teamIds = Enumerable.Range(1, teamCount).Select(t => $"{runId}-t{t}").ToList();
        await ForEach(teamIds, async teamId =>
        {
            using var response = await admin.PutAsJsonAsync($"/api/teams/{teamId}", new TeamBody($"Load test team {teamId}"), Json.Options);
            response.EnsureSuccessStatusCode();
        });

        var workers = new Worker[teamCount * options.WorkersPerTeam];
        await ForEach(Enumerable.Range(0, workers.Length).ToList(), async i =>
        {
            var teamId = teamIds[i / options.WorkersPerTeam];
            var body = new WorkerBody($"Load test worker {i}", teamId, "SocialWorker", 1.0m, null);
            using var response = await admin.PutAsJsonAsync($"/api/workers/{teamId}-w{i % options.WorkersPerTeam + 1}", body, Json.Options);
            workers[i] = (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<Worker>(Json.Options))!;
        });

        return [.. workers];
    }

    private static async Task<List<Check>> Verify(HttpClient admin, List<Worker> workers, Dictionary<string, int> allocatedTo)
    {
        var held = new int[workers.Count];
        await ForEach(Enumerable.Range(0, workers.Count).ToList(), async i =>
            held[i] = (await admin.GetFromJsonAsync<Worker>($"/api/workers/{workers[i].Id}", Json.Options))!.CaseloadCount);

        var miscounted = workers.Select((w, i) => (w, held[i])).Where(x => x.Item2 != allocatedTo[x.w.Id])
            .Select(x => $"{x.w.Id} holds {x.Item2}, was given {allocatedTo[x.w.Id]}").ToList();
        var overCeiling = workers.Where((w, i) => held[i] > w.Ceiling).Select(w => w.Id).ToList();
        return
        [
            new("every caseload within its ceiling", overCeiling.Count == 0,
                overCeiling.Count == 0 ? $"{workers.Count} workers" : string.Join("; ", overCeiling.Take(5))),
            new("each worker holds exactly the children allocated to it", miscounted.Count == 0,
                miscounted.Count == 0 ? $"{workers.Count} workers, {held.Sum()} children held" : string.Join("; ", miscounted.Take(5))),
        ];
    }

    private static Task ForEach<T>(IReadOnlyList<T> items, Func<T, Task> action) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = SetupParallelism }, async (item, _) => await action(item));

    public static IEnumerable<string> MarkdownRows(DurableReport report)
    {
        foreach (var s in report.Steps)
        {
            yield return $"| durable{(report.Label is null ? "" : $" ({report.Label})")} {s.Rate:0}/s × {s.Seconds:0} s | p99 ≤ {report.P99LimitMs:0} ms, 0 errors | " +
                $"{s.AchievedRate:0.#}/s achieved; p50/p90/p99/max {s.Latency.P50Ms:0.#}/{s.Latency.P90Ms:0.#}/{s.Latency.P99Ms:0.#}/{s.Latency.MaxMs:0.#} ms; " +
                $"ok {s.Ok}, errors {s.Errors}; {(s.Pass ? "pass" : "**fail**")} | {report.Machine.ProcessorCount} cores, load {s.LoadAverage} | " +
                $"`{report.Command}` | {report.Date:yyyy-MM-dd} |";
        }

        yield return $"highest rate with p99 ≤ {report.P99LimitMs:0} ms: {(report.HighestPassingRate is { } r ? $"{r:0}/s" : "none")}";
    }

    private static string Write(DurableReport report, string? directory)
    {
        directory ??= Path.Combine(RepositoryRoot(), "loadtests", "results");
        Directory.CreateDirectory(directory);
        var label = report.Label is null ? "" : "-" + string.Concat(report.Label.Select(c => char.IsLetterOrDigit(c) ? c : '-'));
        var path = Path.Combine(directory, $"durable{label}-{report.Date:yyyyMMdd'T'HHmmss'Z'}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, Json.Indented));
        return path;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }

    private sealed record Options(Uri Url, double[] Rates, double StepSeconds, double WarmupRate, double WarmupSeconds, int WorkersPerTeam,
        double P99LimitMs, string? Label,
        bool AllSteps, string? ResultsDirectory)
    {
        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var allSteps = false;
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--all-steps")
                {
                    allSteps = true;
                    continue;
                }

                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"Expected '--name value' at '{args[i]}'.");
                }

                values[args[i][2..]] = args[++i];
            }

            string Text(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
            double Number(string text, string name) =>
                double.TryParse(text, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : throw new ArgumentException($"--{name} must be positive numbers.");

            var warmupSeconds = Text("warmup-seconds", "10");
            var options = new Options(
                RunOptions.LoopbackOnly(Text("url", "http://127.0.0.1:5080")),
                Text("rates", "250,500,1000,1500,2250,3000").Split(',').Select(r => Number(r, "rates")).ToArray(),
                Number(Text("step-seconds", "10"), "step-seconds"),
                Number(Text("warmup-rate", "200"), "warmup-rate"),
                warmupSeconds is "0" ? 0 : Number(warmupSeconds, "warmup-seconds"),
                (int)Number(Text("workers-per-team", "10"), "workers-per-team"),
                Number(Text("p99-ms", "50"), "p99-ms"),
                values.Remove("label", out var label) ? label : null,
                allSteps,
                values.Remove("results", out var results) ? results : null);
            return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
        }
    }
}
