using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Allocation.LoadTests;

/// <summary>
/// <c>generate --size large|national --seed 42 --out DIR [--as-of 2026-11-23]</c>: writes a synthetic authority in
/// the bulk import's CSV format (see <see cref="SyntheticAuthority"/>), prints its figures and each file's SHA-256,
/// so two runs can be compared at a glance.
/// </summary>
public static class GenerateScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests generate --size large|national --out DIR [options]
          --size large|national   10,000 children, 600 workers, 60 teams; or 400,000, 33,000, 2,500
          --seed N                the random seed (default 42); the same seed and as-of give identical files
          --out DIR               where to write teams.csv, workers.csv, children.csv, worker_history.csv, establishment.csv
          --as-of yyyy-MM-dd      the day the data describes, midnight UTC; no date is after it (default today)
          --results DIR           where to write the results file (default loadtests/results)
        """;

    public sealed record Generated(
        string Scenario, DateTimeOffset Date, string Command, Machine Machine, string Size, int Seed, DateTimeOffset AsOf,
        double Seconds, SyntheticFigures Figures, IReadOnlyDictionary<string, FileSummary> Files);

    public sealed record FileSummary(long Bytes, string Sha256);

    public static int Run(string[] args)
    {
        SyntheticSize size;
        int seed;
        string output;
        DateTimeOffset asOf;
        string? results;
        try
        {
            var values = Options(args);
            size = SyntheticSize.Parse(Take(values, "size") ?? throw new ArgumentException("--size is required."));
            seed = Take(values, "seed") is { } s
                ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException("--seed must be a whole number.")
                : 42;
            output = Take(values, "out") ?? throw new ArgumentException("--out is required.");
            asOf = Take(values, "as-of") is { } a
                ? DateTimeOffset.TryParseExact(a, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d)
                    ? d : throw new ArgumentException("--as-of must be yyyy-MM-dd.")
                : new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero);
            results = Take(values, "results");
            if (values.Count > 0)
            {
                throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var machine = Machine.Describe();
        var elapsed = Stopwatch.StartNew();
        var authority = SyntheticAuthority.Generate(size, seed, asOf);
        var paths = authority.WriteTo(output);
        elapsed.Stop();

        var files = paths.ToDictionary(p => Path.GetFileName(p), p => new FileSummary(new FileInfo(p).Length, Sha256(p)));
        var f = authority.Figures();
        Console.WriteLine($"{size.Name}, seed {seed}, as of {asOf:yyyy-MM-dd}: written to {Path.GetFullPath(output)} in {elapsed.Elapsed.TotalSeconds:0.0} s");
        foreach (var (name, file) in files)
        {
            Console.WriteLine($"  {name,-20} {file.Bytes,12:N0} bytes  sha256 {file.Sha256}");
        }

        Console.WriteLine($"  {f.Teams:N0} teams, {f.Workers:N0} workers, {f.Children:N0} children ({f.Allocated:N0} allocated, {f.Unallocated:N0} waiting, " +
            $"{f.UnallocatedBreachedPercent:0.#}% of them past 24 h as of the day)");
        Console.WriteLine($"  caseload: average {f.AverageCaseload:0.0}, max {f.MaxCaseload}; {f.CaseloadsAtOrUnderCeilingPercent:0.0}% at or under ceiling; " +
            $"{f.WorkersOverCeiling} workers over it by override");
        Console.WriteLine($"  staff: {f.PartTimePercent:0.0}% part-time, {f.NewlyQualifiedPercent:0.0}% newly qualified; vacancy {f.VacancyPercent:0.0}% of funded FTE");
        Console.WriteLine($"  history: {f.HistoryPeriods:N0} worker periods; {f.ChildrenWithAChangePercent:0.0}% of children have had more than one worker, " +
            $"{f.ChildrenOverThreeWorkersPercent:0.0}% more than 3 in the last 12 months");

        var report = new Generated("generate", DateTimeOffset.UtcNow, "generate " + string.Join(' ', args), machine, size.Name, seed, asOf,
            elapsed.Elapsed.TotalSeconds, f, files);
        Console.WriteLine("results: " + ResultsFile.Write("generate-" + size.Name, report, results));
        return 0;
    }

    internal static Dictionary<string, string> Options(string[] args)
    {
        var values = RunOptions.Pairs(args, 0);

        return values;
    }

    internal static string? Take(Dictionary<string, string> values, string name) => values.Remove(name, out var v) ? v : null;

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>Results files of the data scenarios: <c>&lt;name&gt;-&lt;utc&gt;.json</c> under loadtests/results (git-ignored).</summary>
public static class ResultsFile
{
    public static string Write<T>(string name, T report, string? directory)
    {
        directory ??= Path.Combine(RepositoryRoot(), "loadtests", "results");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, Json.Indented));
        return path;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
