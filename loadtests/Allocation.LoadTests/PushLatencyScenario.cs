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
/// Push latency: N SignalR clients watch team boards; allocations arrive at a fixed rate (open loop); for every
/// client that should see an allocation, the time from the HTTP request's start to that client's receipt of the
/// board delta is recorded. Misses (a client never told) are counted, not hidden.
/// </summary>
public static class PushLatencyScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests push [options]
          --url URL          the running service; loopback only (default http://127.0.0.1:5080)
          --clients N        SignalR clients, each on one team board (default 2000)
          --teams N          teams the clients and allocations are spread over (default 10)
          --rate R           allocations started per second, open loop (default 50)
          --duration S       seconds of allocations (default 20)
          --results DIR      where to write the results file (default loadtests/results)
        """;

    private sealed record Options(Uri Url, int Clients, int Teams, double Rate, TimeSpan Duration, string? Results);

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
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, UseProxy = false })
        {
            BaseAddress = options.Url,
            Timeout = TimeSpan.FromSeconds(30),
        };

        // Enough room for every allocation: workers per team with the default ceiling of 18.
        var allocations = (int)(options.Rate * options.Duration.TotalSeconds);
        var perTeam = (allocations + options.Teams - 1) / options.Teams;
        var workersPerTeam = Math.Max(1, (perTeam + 17) / 18);
        Console.WriteLine($"setting up {options.Teams} teams, {workersPerTeam} workers each, {allocations} children…");
        var teams = Enumerable.Range(0, options.Teams).Select(t => $"{runId}-t{t}").ToList();
        foreach (var team in teams)
        {
            await Send(http, HttpMethod.Put, $"/api/teams/{team}", new { name = team });
            for (var w = 0; w < workersPerTeam; w++)
            {
                await Send(http, HttpMethod.Put, $"/api/workers/{team}-w{w}", new { name = $"Worker {w}", teamId = team, role = "SocialWorker", fte = 1.0 });
            }
        }

        var children = Enumerable.Range(0, allocations).Select(i => (Id: $"{runId}-c{i}", Team: i % options.Teams)).ToList();
        await Parallel.ForEachAsync(children, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (c, _) =>
            await Send(http, HttpMethod.Post, $"/api/children/{c.Id}/refer", new { requestId = $"{c.Id}-refer", teamId = teams[c.Team] }));

        Console.WriteLine($"connecting {options.Clients} clients…");
        var started = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var histogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        var received = 0L;
        var connections = new HubConnection[options.Clients];
        var connectTimer = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Clients), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var hub = new HubConnectionBuilder()
                .WithUrl(new Uri(options.Url, "/hubs/boards"))
                .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter()))
                .Build();
            hub.On<JsonElement>("teamBoardDelta", delta =>
            {
                var now = Stopwatch.GetTimestamp();
                foreach (var item in delta.GetProperty("feed").EnumerateArray())
                {
                    if (item.GetProperty("kind").GetString() == "allocated"
                        && started.TryGetValue(item.GetProperty("childId").GetString()!, out var start))
                    {
                        histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start, now).TotalMicroseconds));
                        Interlocked.Increment(ref received);
                    }
                }
            });
            await hub.StartAsync();
            await hub.InvokeAsync<JsonElement>("SubscribeTeam", teams[i % options.Teams]);
            connections[i] = hub;
        });
        Console.WriteLine($"{options.Clients} clients connected in {connectTimer.Elapsed.TotalSeconds:0.0} s; allocating at {options.Rate}/s…");

        var allocateErrors = 0;
        var running = new List<Task>(allocations);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < allocations; i++)
        {
            var due = TimeSpan.FromSeconds(i / options.Rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var (child, team) = children[i];
            var worker = $"{teams[team]}-w{i / options.Teams / 18}";
            running.Add(Task.Run(async () =>
            {
                started[child] = Stopwatch.GetTimestamp();
                using var response = await http.PostAsJsonAsync($"/api/children/{child}/allocate", new { requestId = $"{child}-allocate", workerId = worker });
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref allocateErrors);
                }
            }));
        }

        await Task.WhenAll(running);
        var expected = (long)allocations * options.Clients / options.Teams;
        var settle = Stopwatch.StartNew();
        while (Interlocked.Read(ref received) < expected && settle.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }

        var elapsed = clock.Elapsed;
        foreach (var hub in connections)
        {
            await hub.DisposeAsync();
        }

        var h = histogram.Copy();
        double Ms(double percentile) => h.GetValueAtPercentile(percentile) / 1000.0;
        var report = new
        {
            scenario = "push",
            runId,
            date = DateTimeOffset.UtcNow,
            command = "Allocation.LoadTests push " + string.Join(' ', args),
            machine = Machine.Describe(),
            clients = options.Clients,
            teams = options.Teams,
            offeredRate = options.Rate,
            allocations,
            allocateErrors,
            expectedReceipts = expected,
            receipts = received,
            missed = expected - received,
            latencyMs = new { p50 = Ms(50), p90 = Ms(90), p99 = Ms(99), max = h.GetMaxValue() / 1000.0 },
            elapsedSeconds = elapsed.TotalSeconds,
            pass = allocateErrors == 0 && received == expected,
        };
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| push latency | p99 ≤ 75 ms at 200 alloc/s with 5,000 boards | {options.Clients} clients, {options.Rate}/s: p50/p90/p99/max {report.latencyMs.p50:0.#}/{report.latencyMs.p90:0.#}/{report.latencyMs.p99:0.#}/{report.latencyMs.max:0.#} ms; {received}/{expected} receipts, {allocateErrors} errors | {report.machine} | `{report.command}` | {report.date:yyyy-MM-dd} |");
        Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        var directory = options.Results ?? Path.Combine("loadtests", "results");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"push-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { report, markdownRow = row }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine("results: " + file);
        Console.WriteLine(row);
        return report.pass ? 0 : 1;
    }

    private static async Task Send(HttpClient http, HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' at '{args[i]}'.");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string Text(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        double Number(string name, double fallback) =>
            double.TryParse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture, out var d) && d > 0
                ? d : throw new ArgumentException($"--{name} must be a positive number.");
        var options = new Options(
            RunOptions.LoopbackOnly(Text("url", "http://127.0.0.1:5080")),
            (int)Number("clients", 2000),
            (int)Number("teams", 10),
            Number("rate", 50),
            TimeSpan.FromSeconds(Number("duration", 20)),
            values.Remove("results", out var results) ? results : null);
        return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
    }
}
