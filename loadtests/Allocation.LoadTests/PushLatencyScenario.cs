using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using HdrHistogram;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.LoadTests;

/// <summary>
/// Push latency: N SignalR clients watch boards; allocations arrive at a fixed rate (open loop); for every client that
/// should see an allocation, the time from the HTTP request's start to that client's receipt of the delta that reports
/// it is recorded. Misses (a client never told) are counted, not hidden. Clients watch team boards, or, with
/// <c>--caseload-share</c>, that share of them watch a worker's own caseload page ("my caseload"), spread over every
/// worker of every team; allocations go round-robin over each team's workers, so every caseload page is told.
/// </summary>
public static class PushLatencyScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests push [options]
          --url URL          the running service; loopback only (default http://127.0.0.1:5080)
          --clients N        SignalR clients, each on one board (default 2000)
          --teams N          teams the clients and allocations are spread over (default 10)
          --workers-per-team N  social workers per team, at least enough for the allocations (default: just enough)
          --caseload-share F    share of the clients on workers' caseload pages instead of team boards (default 0)
          --rate R           allocations started per second, open loop (default 50)
          --duration S       seconds of allocations (default 20)
          --results DIR      where to write the results file (default loadtests/results)
        """;

    private sealed record Options(Uri Url, int Clients, int Teams, int WorkersPerTeam, double CaseloadShare, double Rate, TimeSpan Duration, string? Results);

    public static async Task<int> Run(string[] args)
    {
        Options options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var runId = $"push-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
        using var clients = await ServiceClients.SignIn(options.Url);

        // Enough room for every allocation: workers per team with the default ceiling of 18.
        var allocations = (int)(options.Rate * options.Duration.TotalSeconds);
        var perTeam = (allocations + options.Teams - 1) / options.Teams;
        var workersPerTeam = Math.Max(options.WorkersPerTeam, Math.Max(1, (perTeam + 17) / 18));
        Console.WriteLine($"setting up {options.Teams} teams, {workersPerTeam} workers each, {allocations} children…");
        var teams = Enumerable.Range(0, options.Teams).Select(t => $"{runId}-t{t}").ToList();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 32 };
        await Parallel.ForEachAsync(teams, parallel, async (team, _) =>
        {
            await ServiceClients.Send(clients.Admin, HttpMethod.Put, $"/api/teams/{team}", new { name = team });
            for (var w = 0; w < workersPerTeam; w++)
            {
                await ServiceClients.Send(clients.Admin, HttpMethod.Put, $"/api/workers/{team}-w{w}", new { name = $"Worker {w}", teamId = team, role = "SocialWorker", fte = 1.0 });
            }
        });

        // Allocation i goes to team i mod teams and, within it, round-robin over the team's workers.
        var children = Enumerable.Range(0, allocations)
            .Select(i => (Id: $"{runId}-c{i}", Team: i % options.Teams, Worker: $"{teams[i % options.Teams]}-w{i / options.Teams % workersPerTeam}"))
            .ToList();
        await Parallel.ForEachAsync(children, parallel, async (c, _) =>
            await ServiceClients.Send(clients.HeadOfService, HttpMethod.Post, $"/api/children/{c.Id}/refer", new { requestId = $"{c.Id}-refer", teamId = teams[c.Team] }));

        // The first share of the clients watch caseload pages, spread over every worker; the rest watch team boards.
        var caseloadClients = (int)Math.Round(options.Clients * options.CaseloadShare);
        var workers = teams.SelectMany(t => Enumerable.Range(0, workersPerTeam).Select(w => $"{t}-w{w}")).ToList();
        var boards = Enumerable.Range(0, options.Clients)
            .Select(i => i < caseloadClients ? (Kind: "worker", Id: workers[i % workers.Count]) : (Kind: "team", Id: teams[(i - caseloadClients) % teams.Count]))
            .ToList();
        var watchers = boards.GroupBy(b => b.Id).ToDictionary(g => g.Key, g => (long)g.Count());
        Console.WriteLine($"connecting {options.Clients} clients: {options.Clients - caseloadClients} on team boards, {caseloadClients} on caseload pages…");
        var started = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var histogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        var teamHistogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        var caseloadHistogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        var received = 0L;
        var deltaBytes = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var connections = new HubConnection[options.Clients];
        var connectTimer = Stopwatch.StartNew();
        void Record(LongConcurrentHistogram kind, long start, long now)
        {
            var micros = Math.Max(1, (long)Stopwatch.GetElapsedTime(start, now).TotalMicroseconds);
            histogram.RecordValue(micros);
            kind.RecordValue(micros);
            Interlocked.Increment(ref received);
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, options.Clients), parallel, async (i, _) =>
        {
            var hub = new HubConnectionBuilder()
                .WithUrl(new Uri(options.Url, "/hubs/boards"), o => o.AccessTokenProvider = () => Task.FromResult(clients.HeadOfServiceToken))
                .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter()))
                .Build();
            var (kind, id) = boards[i];
            if (kind == "team")
            {
                hub.On<JsonElement>("teamBoardDelta", delta =>
                {
                    var now = Stopwatch.GetTimestamp();
                    if (i == caseloadClients)
                    {
                        deltaBytes.AddOrUpdate("team", delta.GetRawText().Length, (_, n) => n);
                    }

                    foreach (var item in delta.GetProperty("feed").EnumerateArray())
                    {
                        if (item.GetProperty("kind").GetString() == "allocated"
                            && started.TryGetValue(item.GetProperty("childId").GetString()!, out var start))
                        {
                            Record(teamHistogram, start, now);
                        }
                    }
                });
                await hub.StartAsync();
                await hub.InvokeAsync<JsonElement>("SubscribeTeam", id);
            }
            else
            {
                // The worker's page gets its whole (small) board: a child of this run it has not shown yet is the news.
                var shown = new HashSet<string>(StringComparer.Ordinal);
                hub.On<JsonElement>("workerBoardDelta", delta =>
                {
                    var now = Stopwatch.GetTimestamp();
                    if (i == 0)
                    {
                        deltaBytes.AddOrUpdate("worker", delta.GetRawText().Length, (_, n) => n);
                    }

                    foreach (var child in delta.GetProperty("board").GetProperty("children").EnumerateArray())
                    {
                        var childId = child.GetProperty("childId").GetString()!;
                        if (started.TryGetValue(childId, out var start) && shown.Add(childId))
                        {
                            Record(caseloadHistogram, start, now);
                        }
                    }
                });
                await hub.StartAsync();
                await hub.InvokeAsync<JsonElement>("SubscribeWorker", id);
            }

            connections[i] = hub;
        });
        Console.WriteLine($"{options.Clients} clients connected in {connectTimer.Elapsed.TotalSeconds:0.0} s; allocating at {options.Rate}/s…");

        var allocateErrors = 0;
        var running = new List<Task>(allocations);
        var cpu = new CpuSplit();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < allocations; i++)
        {
            var due = TimeSpan.FromSeconds(i / options.Rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var (child, team, worker) = children[i];
            running.Add(Task.Run(async () =>
            {
                started[child] = Stopwatch.GetTimestamp();
                using var response = await clients.HeadOfService.PostAsJsonAsync($"/api/children/{child}/allocate", new { requestId = $"{child}-allocate", workerId = worker });
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref allocateErrors);
                }
            }));
        }

        await Task.WhenAll(running);
        var expected = children.Sum(c => watchers.GetValueOrDefault(teams[c.Team]) + watchers.GetValueOrDefault(c.Worker));
        var settle = Stopwatch.StartNew();
        while (Interlocked.Read(ref received) < expected && settle.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }

        var elapsed = clock.Elapsed;
        var cpuUsed = cpu.Stop();
        foreach (var hub in connections)
        {
            await hub.DisposeAsync();
        }

        var h = histogram.Copy();
        double Ms(double percentile) => h.GetValueAtPercentile(percentile) / 1000.0;
        static object Of(HistogramBase k) => k.TotalCount == 0 ? new { count = 0L } : new
        {
            count = k.TotalCount, p50 = k.GetValueAtPercentile(50) / 1000.0, p99 = k.GetValueAtPercentile(99) / 1000.0, max = k.GetMaxValue() / 1000.0,
        };
        var report = new
        {
            scenario = "push",
            runId,
            date = DateTimeOffset.UtcNow,
            command = "Allocation.LoadTests push " + string.Join(' ', args),
            machine = Machine.Describe(),
            clients = options.Clients,
            teams = options.Teams,
            workersPerTeam,
            teamBoardClients = options.Clients - caseloadClients,
            caseloadClients,
            offeredRate = options.Rate,
            allocations,
            allocateErrors,
            expectedReceipts = expected,
            receipts = received,
            missed = expected - received,
            deliveriesPerSecond = expected / options.Duration.TotalSeconds,
            latencyMs = new { p50 = Ms(50), p90 = Ms(90), p99 = Ms(99), max = h.GetMaxValue() / 1000.0 },
            teamBoardLatencyMs = Of(teamHistogram.Copy()),
            caseloadLatencyMs = Of(caseloadHistogram.Copy()),
            sampleDeltaBytes = deltaBytes,
            cpu = cpuUsed,
            elapsedSeconds = elapsed.TotalSeconds,
            pass = allocateErrors == 0 && received == expected,
        };
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| push latency | p99 ≤ 75 ms at 200 alloc/s with 5,000 boards | {options.Clients} clients ({caseloadClients} on caseload pages) over {options.Teams} teams, {options.Rate}/s ({report.deliveriesPerSecond:0} deliveries/s): p50/p90/p99/max {report.latencyMs.p50:0.#}/{report.latencyMs.p90:0.#}/{report.latencyMs.p99:0.#}/{report.latencyMs.max:0.#} ms; {received}/{expected} receipts, {allocateErrors} errors | {report.machine} | `{report.command}` | {report.date:yyyy-MM-dd} |");
        Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        var directory = options.Results ?? Path.Combine("loadtests", "results");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"push-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { report, markdownRow = row }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine("results: " + file);
        Console.WriteLine(row);
        return report.pass ? 0 : 1;
    }

    private static Options Parse(string[] args)
    {
        var values = RunOptions.Pairs(args, 0);

        string Text(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        double Number(string name, double fallback) =>
            double.TryParse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture, out var d) && d > 0
                ? d : throw new ArgumentException($"--{name} must be a positive number.");
        var options = new Options(
            RunOptions.LoopbackOnly(Text("url", "http://127.0.0.1:5080")),
            (int)Number("clients", 2000),
            (int)Number("teams", 10),
            (int)Number("workers-per-team", 1),
            values.Remove("caseload-share", out var share) && double.TryParse(share, CultureInfo.InvariantCulture, out var f) && f is >= 0 and <= 1
                ? f : share is null ? 0 : throw new ArgumentException("--caseload-share must be between 0 and 1."),
            Number("rate", 50),
            TimeSpan.FromSeconds(Number("duration", 20)),
            values.Remove("results", out var results) ? results : null);
        return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
    }
}
