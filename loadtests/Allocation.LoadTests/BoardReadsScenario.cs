using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using HdrHistogram;

namespace Allocation.LoadTests;

/// <summary>
/// Board snapshot reads while allocations run: an authority of many teams, each with a realistic board (workers
/// with caseloads, a queue, a feed), is set up; then GET /api/teams/{id}/board is sent at a fixed rate (open loop,
/// a uniformly random team each time) while a background stream refers and allocates new children at its own fixed
/// rate. Each read's latency is measured from its scheduled time (HdrHistogram). Target (issue 7): p99 ≤ 5 ms at
/// 2,000 reads/s.
/// </summary>
public static class BoardReadsScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests boardreads [options]
          --url URL                 the running service; loopback only (default http://127.0.0.1:5080)
          --teams N                 teams (default 60)
          --workers-per-team N      full-time social workers per team (default 12)
          --caseload N              children allocated to each worker before the run (default 12)
          --queued-per-team N       children waiting in each team's queue before the run (default 16)
          --rate R                  board reads started per second, open loop (default 2000)
          --write-rate R            allocations per second in the background, each after its own referral (default 50)
          --warmup S                seconds of reads and writes before measuring (default 5)
          --duration S              seconds measured (default 30)
          --results DIR             where to write the results file (default loadtests/results)
        """;

    private sealed record Options(Uri Url, int Teams, int WorkersPerTeam, int Caseload, int QueuedPerTeam, double Rate, double WriteRate,
        TimeSpan Warmup, TimeSpan Duration, string? Results);

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

        try
        {
            return await Run(options, args);
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"The service did not answer as expected: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> Run(Options options, string[] args)
    {
        var machine = Machine.Describe();
        var runId = $"br-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
        using var clients = await ServiceClients.SignIn(options.Url, maxConnectionsPerServer: 1024);
        var (teams, places) = await Setup(clients, options, runId);

        var reads = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        var writes = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        long readErrors = 0, writeErrors = 0, bytes = 0, readsDone = 0;
        var random = new Random(7);
        var start = Stopwatch.GetTimestamp();
        // A request is measured when it was due after the warm-up, whenever it finishes.
        var measuredFrom = start + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);

        async Task Read(string team, long due)
        {
            try
            {
                using var response = await clients.HeadOfService.GetAsync($"/api/teams/{team}/board");
                var body = await response.Content.ReadAsByteArrayAsync();
                var micros = (long)Stopwatch.GetElapsedTime(due).TotalMicroseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref readErrors);
                }
                else if (due >= measuredFrom)
                {
                    reads.RecordValue(Math.Max(1, micros));
                    Interlocked.Add(ref bytes, body.Length);
                    Interlocked.Increment(ref readsDone);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref readErrors);
            }
        }

        var nextChild = 0;
        async Task Write((string Team, string Worker) place, long due)
        {
            var child = $"{runId}-n{Interlocked.Increment(ref nextChild)}";
            try
            {
                using var refer = await clients.HeadOfService.PostAsJsonAsync($"/api/children/{child}/refer",
                    new { requestId = $"{child}-refer", teamId = place.Team, by = "load-test" });
                using var allocate = refer.IsSuccessStatusCode
                    ? await clients.HeadOfService.PostAsJsonAsync($"/api/children/{child}/allocate",
                        new { requestId = $"{child}-allocate", workerId = place.Worker, by = "load-test" })
                    : refer;
                if (!allocate.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref writeErrors);
                }
                else if (due >= measuredFrom)
                {
                    writes.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(due).TotalMicroseconds));
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref writeErrors);
            }
        }

        Console.WriteLine($"reading boards at {options.Rate}/s and allocating at {options.WriteRate}/s: {options.Warmup.TotalSeconds} s warm-up, {options.Duration.TotalSeconds} s measured…");
        var running = new List<Task>();
        var cpu = new CpuSplit();
        var total = options.Warmup + options.Duration;
        long sentReads = 0, sentWrites = 0, maxLagMicros = 0;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(start, now);
            if (elapsed >= total)
            {
                break;
            }

            // Every request due by now is started now; its latency counts from when it was due.
            for (var due = (long)(elapsed.TotalSeconds * options.Rate); sentReads < due; sentReads++)
            {
                var at = start + (long)(sentReads / options.Rate * Stopwatch.Frequency);
                maxLagMicros = Math.Max(maxLagMicros, (long)Stopwatch.GetElapsedTime(at, now).TotalMicroseconds);
                running.Add(Read(teams[random.Next(teams.Count)], at));
            }

            for (var due = (long)(elapsed.TotalSeconds * options.WriteRate); sentWrites < due && places.Count > 0; sentWrites++)
            {
                running.Add(Write(places.Dequeue(), start + (long)(sentWrites / options.WriteRate * Stopwatch.Frequency)));
            }

            await Task.Delay(1);
        }

        await Task.WhenAll(running);
        var cpuUsed = cpu.Stop();
        // Reads answered per second over the measured reads' span, from the first one due to the last one answered.
        var measuredFor = Stopwatch.GetElapsedTime(measuredFrom);

        var r = reads.Copy();
        var w = writes.Copy();
        static double Ms(HistogramBase h, double percentile) => h.TotalCount == 0 ? 0 : h.GetValueAtPercentile(percentile) / 1000.0;
        var p99 = Ms(r, 99);
        var pass = readErrors == 0 && writeErrors == 0 && p99 <= 5.0;
        var report = new
        {
            scenario = "boardreads",
            runId,
            date = DateTimeOffset.UtcNow,
            command = "Allocation.LoadTests boardreads " + string.Join(' ', args),
            machine,
            teams = options.Teams,
            workersPerTeam = options.WorkersPerTeam,
            childrenPerTeam = options.WorkersPerTeam * options.Caseload + options.QueuedPerTeam,
            offeredReadRate = options.Rate,
            achievedReadRate = readsDone / measuredFor.TotalSeconds,
            offeredWriteRate = options.WriteRate,
            readErrors,
            writeErrors,
            meanBoardBytes = readsDone == 0 ? 0 : bytes / readsDone,
            schedulerLateByAtMostMs = maxLagMicros / 1000.0,
            readLatencyMs = new { count = r.TotalCount, p50 = Ms(r, 50), p90 = Ms(r, 90), p99, p999 = Ms(r, 99.9), max = r.GetMaxValue() / 1000.0 },
            cpu = cpuUsed,
            referAndAllocateLatencyMs = new { count = w.TotalCount, p50 = Ms(w, 50), p99 = Ms(w, 99), max = w.GetMaxValue() / 1000.0 },
            pass,
        };
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| board snapshot reads | p99 ≤ 5 ms at 2,000 reads/s while allocations run | {report.achievedReadRate:0} reads/s ({options.Teams} teams, {report.meanBoardBytes / 1024.0:0.0} KB boards) with {options.WriteRate}/s allocations: read p50/p90/p99/max {report.readLatencyMs.p50:0.##}/{report.readLatencyMs.p90:0.##}/{p99:0.##}/{report.readLatencyMs.max:0.#} ms; {readErrors} read errors, {writeErrors} write errors; {(pass ? "PASS" : "FAIL")} | {machine} | `{report.command}` | {report.date:yyyy-MM-dd} |");
        Console.WriteLine(JsonSerializer.Serialize(report, Json.Indented));
        var directory = options.Results ?? Path.Combine("loadtests", "results");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"boardreads-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { report, markdownRow = row }, Json.Indented));
        Console.WriteLine("results: " + file);
        Console.WriteLine(row);
        return pass ? 0 : 1;
    }

    /// <summary>Teams of workers at the given caseload with a queue each; returns the places left for the background stream.</summary>
    private static async Task<(List<string> Teams, Queue<(string Team, string Worker)> Places)> Setup(ServiceClients clients, Options options, string runId)
    {
        var setup = Stopwatch.StartNew();
        var teams = Enumerable.Range(0, options.Teams).Select(t => $"{runId}-t{t}").ToList();
        var workers = teams.SelectMany(t => Enumerable.Range(0, options.WorkersPerTeam).Select(w => (Team: t, Worker: $"{t}-w{w}"))).ToList();
        Console.WriteLine($"setting up {teams.Count} teams, {workers.Count} workers, {teams.Count * (options.WorkersPerTeam * options.Caseload + options.QueuedPerTeam)} children…");
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 32 };
        await Parallel.ForEachAsync(teams, parallel, async (t, _) =>
            await ServiceClients.Send(clients.Admin, HttpMethod.Put, $"/api/teams/{t}", new { name = $"Team {t[^3..]}" }));
        await Parallel.ForEachAsync(workers, parallel, async (w, _) =>
            await ServiceClients.Send(clients.Admin, HttpMethod.Put, $"/api/workers/{w.Worker}", new { name = $"Worker {w.Worker[^6..]}", teamId = w.Team, role = "SocialWorker", fte = 1.0 }));

        var children = workers.SelectMany(w => Enumerable.Range(0, options.Caseload).Select(k => (Id: $"{w.Worker}-c{k}", w.Team, Worker: (string?)w.Worker)))
            .Concat(teams.SelectMany(t => Enumerable.Range(0, options.QueuedPerTeam).Select(k => (Id: $"{t}-q{k}", Team: t, Worker: (string?)null))))
            .ToList();
        await Parallel.ForEachAsync(children, parallel, async (c, _) =>
        {
            await ServiceClients.Send(clients.HeadOfService, HttpMethod.Post, $"/api/children/{c.Id}/refer", new { requestId = $"{c.Id}-refer", teamId = c.Team, by = "load-test" });
            if (c.Worker is not null)
            {
                await ServiceClients.Send(clients.HeadOfService, HttpMethod.Post, $"/api/children/{c.Id}/allocate", new { requestId = $"{c.Id}-allocate", workerId = c.Worker, by = "load-test" });
            }
        });

        // The stream fills the places left (ceiling 18 for a full-time social worker), spread over every team.
        var places = new Queue<(string, string)>(Enumerable.Range(options.Caseload, 18 - options.Caseload)
            .SelectMany(_ => workers.OrderBy(w => w.Worker.GetHashCode())).Select(w => (w.Team, w.Worker)));
        Console.WriteLine($"set up in {setup.Elapsed.TotalSeconds:0} s; {places.Count} places left for the background allocations");
        return (teams, places);
    }

    private static Options Parse(string[] args)
    {
        var values = RunOptions.Pairs(args, 0);

        string Text(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        double Number(string name, double fallback) =>
            double.TryParse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture, out var d) && d >= 0
                ? d : throw new ArgumentException($"--{name} must be a number, zero or more.");
        var options = new Options(
            RunOptions.LoopbackOnly(Text("url", "http://127.0.0.1:5080")),
            (int)Number("teams", 60),
            (int)Number("workers-per-team", 12),
            (int)Number("caseload", 12),
            (int)Number("queued-per-team", 16),
            Number("rate", 2000),
            Number("write-rate", 50),
            TimeSpan.FromSeconds(Number("warmup", 5)),
            TimeSpan.FromSeconds(Number("duration", 30)),
            values.Remove("results", out var results) ? results : null);
        if (options.Teams < 1 || options.Rate <= 0 || options.Caseload > 18)
        {
            throw new ArgumentException("--teams and --rate must be positive and --caseload at most 18.");
        }

        return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
    }
}
