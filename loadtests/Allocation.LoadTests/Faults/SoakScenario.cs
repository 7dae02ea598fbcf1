using System.Diagnostics;
using System.Globalization;

namespace Allocation.LoadTests.Faults;

/// <summary>One minute of a soak: the commands answered in it, their latency, and at its end the service's resident
/// memory, the managed heap's live size after its last full collection, how many full collections it has had, and, as
/// of the last collection of any kind, the heap's size and the memory the collector had committed (to tell the
/// collector's share of the resident set from the rest).</summary>
public sealed record SoakMinute(int Minute, int Commands, double P50Ms, double P99Ms, double MaxMs, double ResidentMb, double LiveMb = 0, int FullCollections = 0,
    double HeapMb = 0, double CommittedMb = 0);

public sealed record SoakReport(
    string Scenario, DateTimeOffset Date, string Command, Machine MachineAtStart, string? LoadAverageAtEnd, string Service, double Rate, int Minutes,
    long Sent, int Acknowledged, long Refused, long LostAnswers, long Unavailable, long ServerErrors, long Hung,
    IReadOnlyList<SoakMinute> PerMinute, int WarmUpMinutes, double P50SlopeMsPerMinute, double P99SlopeMsPerMinute, double ResidentSlopeMbPerMinute, double LiveSlopeMbPerMinute,
    InvariantReport Invariants, IReadOnlyList<Check> Checks)
{
    public bool Pass => Checks.All(c => c.Pass);
}

/// <summary>
/// The mixed command load at a steady rate for a long time, with no fault: per minute, the latency percentiles of the
/// commands answered and the service's resident memory; the slopes of both after a warm-up (least squares, per minute);
/// no errors; then the invariant check. Flat means a p99 slope within 1 ms a minute and memory within 1 MB a minute.
/// Memory is the managed heap's live size after each full collection (the service's
/// <c>allocation.memory.live_after_full_gc</c>, read from <c>/metrics</c>), over the minutes after the first full
/// collection past the warm-up: what a leak would grow. The resident set's slope is reported beside it but not judged,
/// since it carries the garbage waiting for the next full collection and so follows the collector's timing.
/// </summary>
public static class SoakScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests faults soak --service PATH/Allocation.Service.dll [options]
          --minutes N         how long (default 30)
          --rate R            commands per second, mixed (default 125: half the durable capacity measured)
          --concurrency N     senders (default 32)
          --children N        children the load works on (default 1000)
          --teams N           teams, each with 8 workers of ceiling 10 (default 6)
          --warmup N          minutes left out of the slopes (default 5)
          --results DIR       where to write the results file (default loadtests/results)
        """;

    public static async Task<int> Run(string[] args)
    {
        if (!OptionValues.TryRead(args, 1, Usage, values => (
                Dll: values.Take("service") ?? throw new ArgumentException("--service is required."),
                Minutes: (int)values.Number("minutes", 30), Rate: values.Number("rate", 125), Concurrency: (int)values.Number("concurrency", 32),
                Children: (int)values.Number("children", 1000), Teams: (int)values.Number("teams", 6), WarmUp: (int)values.Number("warmup", 5),
                Results: values.Take("results")),
            out var o))
        {
            return 2;
        }

        var (dll, minutes, rate, concurrency, children, teams, warmUp, results) = o;
        var report = await SoakAsync(dll, minutes, rate, concurrency, children, warmUp, Console.WriteLine, teams);
        var all = report.PerMinute.Skip(report.WarmUpMinutes).DefaultIfEmpty().ToList();
        var row = $"| soak | {rate:0}/s mixed commands, {concurrency} senders, {children:N0} children, {teams} teams × 8 workers, {minutes} min | none | {report.Acknowledged}; {report.Refused} refused by rule | " +
            $"{report.Invariants.Lost} | {report.Invariants.Duplicated} | {report.Invariants.Violations.Count} (+{report.Invariants.BoardViolations.Count} boards) | " +
            $"after {report.WarmUpMinutes} min: p50 {all.Min(m => m?.P50Ms):0.0}–{all.Max(m => m?.P50Ms):0.0} ms, p99 {all.Min(m => m?.P99Ms):0.0}–{all.Max(m => m?.P99Ms):0.0} ms a minute, " +
            $"p99 slope {report.P99SlopeMsPerMinute:0.00} ms/min; live after full GCs {all.Min(m => m?.LiveMb):0}–{all.Max(m => m?.LiveMb):0} MB, slope {report.LiveSlopeMbPerMinute:0.00} MB/min; resident {all.Min(m => m?.ResidentMb):0}–{all.Max(m => m?.ResidentMb):0} MB, slope {report.ResidentSlopeMbPerMinute:0.00} MB/min; GC committed {all.Min(m => m?.CommittedMb):0}–{all.Max(m => m?.CommittedMb):0} MB; " +
            $"{report.ServerErrors} × 5xx, {report.Unavailable} × 503, {report.Hung} hung | {report.MachineAtStart.ProcessorCount} cores, load {report.MachineAtStart.LoadAverage} → {report.LoadAverageAtEnd} | {report.Date:yyyy-MM-dd} |";
        return FaultScenarios.Finish(report.Checks, "faults-soak", report with { Command = "faults soak " + string.Join(' ', args[1..]) }, results, row);
    }

    public static async Task<SoakReport> SoakAsync(string dll, int minutes, double rate, int concurrency, int children, int warmUp, Action<string> log, int teams = 6)
    {
        var machine = Machine.Describe();
        var runId = $"fs-{DateTime.UtcNow:HHmmss}-{Random.Shared.Next(0x1000):x3}";
        await using var database = await DurablePostgres.StartAsync();
        await using var service = new ServiceProcess(dll, database.ConnectionString, "faults-" + runId);
        await service.StartAsync();
        var tally = new ClientTally();
        using var admin = new CommandClient(service.Url, "U-ADMIN", tally);
        using var manager = new CommandClient(service.Url, "U-HOS", tally);
        var load = await CommandLoad.SetUpAsync(admin, runId, teams, workersPerTeam: 8, ceiling: 10, children);
        var window = new List<double>();
        load.Answered = ms =>
        {
            lock (window)
            {
                window.Add(ms);
            }
        };

        var perMinute = new List<SoakMinute>();
        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(manager, concurrency, rate, stop.Token);
        for (var minute = 1; minute <= minutes && !running.IsCompleted; minute++)
        {
            await Task.Delay(TimeSpan.FromMinutes(1));
            double[] answered;
            lock (window)
            {
                answered = [.. window.Order()];
                window.Clear();
            }

            double At(double q) => answered.Length == 0 ? 0 : answered[Math.Min(answered.Length - 1, (int)(q * answered.Length))];
            var heap = await ManagedHeapAsync(admin);
            var row = new SoakMinute(minute, answered.Length, Math.Round(At(0.5), 1), Math.Round(At(0.99), 1), Math.Round(answered.LastOrDefault(), 1),
                Math.Round(ResidentMb(service.Pid), 1), Math.Round(heap.LiveMb, 1), heap.FullCollections, Math.Round(heap.HeapMb, 1), Math.Round(heap.CommittedMb, 1));
            perMinute.Add(row);
            log($"minute {row.Minute}: {row.Commands} commands, p50 {row.P50Ms} ms, p99 {row.P99Ms} ms, max {row.MaxMs} ms, resident {row.ResidentMb} MB, " +
                $"live after full GC {row.LiveMb} MB ({row.FullCollections} full GCs), heap {row.HeapMb} MB and GC committed {row.CommittedMb} MB at the last GC; " +
                $"{tally.ServerErrors} × 5xx, {tally.Unavailable} × 503 so far");
        }

        stop.Cancel();
        await running;
        var invariants = await Invariants.CheckAsync(manager, load, TimeSpan.FromSeconds(30));
        log("invariants: " + invariants);
        var steady = perMinute.Skip(warmUp).ToList();
        double Slope(Func<SoakMinute, double> y) => Math.Round(SlopePerMinute(steady.Select(m => ((double)m.Minute, y(m))).ToList()), 3);
        var (p50Slope, p99Slope, memorySlope, committedSlope) = (Slope(m => m.P50Ms), Slope(m => m.P99Ms), Slope(m => m.ResidentMb), Slope(m => m.CommittedMb));
        // The live size is known at full collections only: from the first one after the warm-up on.
        var firstFull = steady.FirstOrDefault()?.FullCollections ?? 0;
        var collected = steady.Where(m => m.FullCollections > firstFull).ToList();
        var liveSlope = Math.Round(SlopePerMinute(collected.Select(m => ((double)m.Minute, m.LiveMb)).ToList()), 3);
        var fullDuring = collected.Select(m => m.FullCollections).DefaultIfEmpty(firstFull).Max() - firstFull;
        List<Check> checks =
        [
            new(FaultScenarios.FactsCheck, invariants.FactsHold, invariants.ToString()),
            new(FaultScenarios.BoardsCheck, invariants.BoardsHold, string.Join("\n", invariants.BoardViolations)),
            new("no errors", tally.ServerErrors + tally.Unavailable + tally.Hung == 0, $"{tally.ServerErrors} × 5xx, {tally.Unavailable} × 503, {tally.Hung} hung"),
            new("the whole time ran", perMinute.Count == minutes, $"{perMinute.Count} of {minutes} minutes"),
            new("p99 latency flat (slope within 1 ms a minute)", Math.Abs(p99Slope) <= 1, $"{p99Slope} ms/min after {warmUp} min"),
            new("live memory flat (managed heap after full collections, slope within 1 MB a minute)", fullDuring >= 2 && Math.Abs(liveSlope) <= 1,
                $"{liveSlope} MB/min over {collected.Count} minutes after {fullDuring} full collections past the warm-up (resident: {memorySlope} MB/min, GC committed: {committedSlope} MB/min, not judged)"),
        ];
        return new SoakReport("soak", DateTimeOffset.UtcNow, "", machine, Machine.Describe().LoadAverage, dll, rate, minutes, load.Sent,
            load.AcknowledgedCommands.Count, load.Refused, tally.LostAnswers, tally.Unavailable, tally.ServerErrors, tally.Hung, perMinute, warmUp,
            p50Slope, p99Slope, memorySlope, liveSlope, invariants, checks);
    }

    /// <summary>Least-squares slope of y over x (minutes).</summary>
    public static double SlopePerMinute(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }

        var (mx, my) = (points.Average(p => p.X), points.Average(p => p.Y));
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    /// <summary>The managed heap's live size after the service's last full collection (MB), how many it has had, and the
    /// heap's size and the collector's committed memory as of its last collection (MB), from the runtime's instruments.</summary>
    private static async Task<(double LiveMb, int FullCollections, double HeapMb, double CommittedMb)> ManagedHeapAsync(CommandClient admin)
    {
        var (status, text) = await admin.OnceAsync(HttpMethod.Get, "/metrics", null, CancellationToken.None);
        double Value(string name) => status == 200
            ? text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is ' ' or '{'))
                .Select(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum()
            : 0;
        const double Mb = 1024 * 1024;
        return (Value("allocation_memory_live_after_full_gc_bytes") / Mb, (int)Value("allocation_memory_full_gc_total"),
            Value("dotnet_gc_last_collection_heap_size_bytes") / Mb, Value("dotnet_gc_last_collection_memory_committed_size_bytes") / Mb);
    }

    /// <summary>The process's resident set (VmRSS), in MB.</summary>
    private static double ResidentMb(int? pid)
    {
        var status = pid is { } p && File.Exists($"/proc/{p}/status") ? File.ReadAllLines($"/proc/{p}/status") : [];
        var line = status.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
