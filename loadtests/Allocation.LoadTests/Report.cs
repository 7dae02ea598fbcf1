using System.Runtime.InteropServices;
using System.Text.Json;
using HdrHistogram;

namespace Allocation.LoadTests;

public sealed record Latency(long Count, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

public sealed record KindSummary(string Kind, int Planned, int Sent, int Ok, int RefusedAsExpected, int Errors, Latency Latency);

public sealed record Check(string Name, bool Pass, string Detail);

/// <summary>The load generator's machine (the service shares it on loopback). The load average is read when the
/// run starts: other work on the machine moves the figures.</summary>
public sealed record Machine(int ProcessorCount, string Os, string Runtime, string Architecture, string? LoadAverage)
{
    public static Machine Describe() => new(Environment.ProcessorCount, RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription, RuntimeInformation.ProcessArchitecture.ToString(),
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null);

    public override string ToString() => $"{ProcessorCount} CPUs, {Os}, {Runtime}" + (LoadAverage is null ? "" : $", load {LoadAverage}");
}

public sealed record RunReport(
    string Scenario,
    string RunId,
    DateTimeOffset Date,
    string Command,
    Machine Machine,
    string Url,
    RunOptions Options,
    double OfferedRate,
    double AchievedRate,
    double ElapsedSeconds,
    double MaxSendLagMs,
    IReadOnlyList<KindSummary> Kinds,
    IReadOnlyList<Check> Checks,
    IReadOnlyList<string> ErrorSamples,
    bool Pass)
{
    public string MarkdownRow
    {
        get
        {
            var latency = string.Join("; ", Kinds.Select(k =>
                $"{k.Kind} p50/p90/p99/max {k.Latency.P50Ms:0.#}/{k.Latency.P90Ms:0.#}/{k.Latency.P99Ms:0.#}/{k.Latency.MaxMs:0.#} ms"));
            var counts = $"ok {Kinds.Sum(k => k.Ok)}, refused as expected {Kinds.Sum(k => k.RefusedAsExpected)}, errors {Kinds.Sum(k => k.Errors)}";
            return $"| {Scenario} | {OfferedRate:0.#} req/s offered, 0 errors, invariants hold | {AchievedRate:0.#} req/s achieved; {latency}; {counts}; " +
                $"{(Pass ? "PASS" : "FAIL")} | {Machine} | `{Command}` | {Date:yyyy-MM-dd} |";
        }
    }
}

public static class Report
{
    /// <summary>Ten minutes in microseconds: nothing a request can take here, so nothing is clipped.</summary>
    private const long HighestMicros = 600_000_000;

    public static RunReport From(RunOptions options, string runId, Machine machine, IReadOnlyList<Step> steps, StepResult[] results,
        TimeSpan elapsed, TimeSpan maxSendLag, IReadOnlyList<Check> checks)
    {
        var kinds = steps.Zip(results).GroupBy(s => s.First.Kind).Select(g =>
        {
            var histogram = new LongHistogram(HighestMicros, 3);
            // Every request sent has a latency; a step skipped because one it needed failed has none.
            foreach (var (_, result) in g.Where(s => s.Second.LatencyMicros > 0))
            {
                histogram.RecordValue(Math.Min(result.LatencyMicros, HighestMicros));
            }

            return new KindSummary(g.Key, g.Count(), g.Count(s => s.Second.LatencyMicros > 0),
                g.Count(s => s.Second.Outcome == Outcome.Ok), g.Count(s => s.Second.Outcome == Outcome.RefusedAsExpected),
                g.Count(s => s.Second.Outcome == Outcome.Error), Summarize(histogram));
        }).ToList();

        var sent = results.Count(r => r.LatencyMicros > 0);
        var errorSamples = results.Where(r => r.Error is not null).GroupBy(r => r.Error!)
            .Select(g => $"{g.Count()} x {g.Key}").Take(10).ToList();
        var pass = kinds.Sum(k => k.Errors) == 0 && checks.All(c => c.Pass);
        return new RunReport(options.Scenario, runId, DateTimeOffset.UtcNow, "Allocation.LoadTests " + string.Join(' ', Environment.GetCommandLineArgs()[1..]),
            machine, options.Url.ToString(), options, options.Rate, sent / elapsed.TotalSeconds, elapsed.TotalSeconds,
            maxSendLag.TotalMilliseconds, kinds, checks, errorSamples, pass);
    }

    public static void Print(RunReport report)
    {
        Console.WriteLine($"{report.Scenario} {report.RunId} against {report.Url} on {report.Machine}");
        Console.WriteLine($"offered {report.OfferedRate:0.#} req/s; achieved {report.AchievedRate:0.#} req/s ({report.Kinds.Sum(k => k.Sent)} requests done " +
            $"{report.ElapsedSeconds:0.0} s after the first was due); scheduler late by at most {report.MaxSendLagMs:0.#} ms");
        Console.WriteLine($"{"kind",-9} {"planned",8} {"sent",6} {"ok",6} {"refused",8} {"errors",7} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"max ms",8}");
        foreach (var k in report.Kinds)
        {
            Console.WriteLine(
                $"{k.Kind,-9} {k.Planned,8} {k.Sent,6} {k.Ok,6} {k.RefusedAsExpected,8} {k.Errors,7} {k.Latency.P50Ms,8:0.0} {k.Latency.P90Ms,8:0.0} {k.Latency.P99Ms,8:0.0} {k.Latency.MaxMs,8:0.0}");
        }

        foreach (var error in report.ErrorSamples)
        {
            Console.WriteLine("  error: " + error);
        }

        foreach (var check in report.Checks)
        {
            Console.WriteLine($"{(check.Pass ? "ok  " : "FAIL")} {check.Name}: {check.Detail}");
        }

        Console.WriteLine(report.Pass ? "PASS" : "FAIL");
    }

    /// <summary>Writes <c>&lt;scenario&gt;-&lt;utc timestamp&gt;.json</c> under loadtests/results (git-ignored).</summary>
    public static string Write(RunReport report, string? directory)
    {
        directory ??= Path.Combine(RepositoryRoot(), "loadtests", "results");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{report.Scenario}-{report.Date:yyyyMMdd'T'HHmmss'Z'}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, Json.Indented));
        return path;
    }

    private static Latency Summarize(LongHistogram h)
    {
        static double Ms(long micros) => Math.Round(micros / 1000.0, 2);
        return h.TotalCount == 0
            ? new Latency(0, 0, 0, 0, 0)
            : new Latency(h.TotalCount, Ms(h.GetValueAtPercentile(50)), Ms(h.GetValueAtPercentile(90)),
                Ms(h.GetValueAtPercentile(99)), Ms(h.GetMaxValue()));
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
}
