using System.Diagnostics;
using System.Globalization;

namespace Allocation.LoadTests.Faults;

/// <summary>One minute of a soak: the commands answered in it, their latency, and the service's resident memory at its end.</summary>
public sealed record SoakMinute(int Minute, int Commands, double P50Ms, double P99Ms, double MaxMs, double ResidentMb);

public sealed record SoakReport(
    string Scenario, DateTimeOffset Date, string Command, Machine MachineAtStart, string? LoadAverageAtEnd, string Service, double Rate, int Minutes,
    long Sent, int Acknowledged, long Refused, long LostAnswers, long Unavailable, long ServerErrors, long Hung,
    IReadOnlyList<SoakMinute> PerMinute, int WarmUpMinutes, double P50SlopeMsPerMinute, double P99SlopeMsPerMinute, double ResidentSlopeMbPerMinute,
    InvariantReport Invariants, IReadOnlyList<Check> Checks)
{
    public bool Pass => Checks.All(c => c.Pass);
}

/// <summary>
/// The mixed command load at a steady rate for a long time, with no fault: per minute, the latency percentiles of the
/// commands answered and the service's resident memory; the slopes of both after a warm-up (least squares, per minute);
/// no errors; then the invariant check. Flat means a p99 slope within 1 ms a minute and memory within 1 MB a minute.
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
            $"p99 slope {report.P99SlopeMsPerMinute:0.00} ms/min; resident {all.Min(m => m?.ResidentMb):0}–{all.Max(m => m?.ResidentMb):0} MB, slope {report.ResidentSlopeMbPerMinute:0.00} MB/min; " +
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
            var row = new SoakMinute(minute, answered.Length, Math.Round(At(0.5), 1), Math.Round(At(0.99), 1), Math.Round(answered.LastOrDefault(), 1),
                Math.Round(ResidentMb(service.Pid), 1));
            perMinute.Add(row);
            log($"minute {row.Minute}: {row.Commands} commands, p50 {row.P50Ms} ms, p99 {row.P99Ms} ms, max {row.MaxMs} ms, resident {row.ResidentMb} MB; " +
                $"{tally.ServerErrors} × 5xx, {tally.Unavailable} × 503 so far");
        }

        stop.Cancel();
        await running;
        var invariants = await Invariants.CheckAsync(manager, load, TimeSpan.FromSeconds(30));
        log("invariants: " + invariants);
        var steady = perMinute.Skip(warmUp).ToList();
        double Slope(Func<SoakMinute, double> y) => Math.Round(SlopePerMinute(steady.Select(m => ((double)m.Minute, y(m))).ToList()), 3);
        var (p50Slope, p99Slope, memorySlope) = (Slope(m => m.P50Ms), Slope(m => m.P99Ms), Slope(m => m.ResidentMb));
        List<Check> checks =
        [
            new(FaultScenarios.FactsCheck, invariants.FactsHold, invariants.ToString()),
            new(FaultScenarios.BoardsCheck, invariants.BoardsHold, string.Join("\n", invariants.BoardViolations)),
            new("no errors", tally.ServerErrors + tally.Unavailable + tally.Hung == 0, $"{tally.ServerErrors} × 5xx, {tally.Unavailable} × 503, {tally.Hung} hung"),
            new("the whole time ran", perMinute.Count == minutes, $"{perMinute.Count} of {minutes} minutes"),
            new("p99 latency flat (slope within 1 ms a minute)", Math.Abs(p99Slope) <= 1, $"{p99Slope} ms/min after {warmUp} min"),
            new("memory flat (slope within 1 MB a minute)", Math.Abs(memorySlope) <= 1, $"{memorySlope} MB/min after {warmUp} min"),
        ];
        return new SoakReport("soak", DateTimeOffset.UtcNow, "", machine, Machine.Describe().LoadAverage, dll, rate, minutes, load.Sent,
            load.AcknowledgedCommands.Count, load.Refused, tally.LostAnswers, tally.Unavailable, tally.ServerErrors, tally.Hung, perMinute, warmUp,
            p50Slope, p99Slope, memorySlope, invariants, checks);
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

    /// <summary>The process's resident set (VmRSS), in MB.</summary>
    private static double ResidentMb(int? pid)
    {
        var status = pid is { } p && File.Exists($"/proc/{p}/status") ? File.ReadAllLines($"/proc/{p}/status") : [];
        var line = status.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
