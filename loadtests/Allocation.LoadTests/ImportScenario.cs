using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Allocation.Service.Import;

namespace Allocation.LoadTests;

/// <summary>
/// <c>import --url URL --dir DIR</c>: posts a folder of import files (e.g. from <c>generate</c>) to a running service
/// as one request, as the <c>import</c> command does, and records the wall time, the service's own time and the
/// throughput in children per second.
/// </summary>
public static class ImportScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests import --dir DIR [options]
          --dir DIR          the folder with teams.csv, workers.csv, children.csv, worker_history.csv
          --url URL          the running service; loopback only (default http://127.0.0.1:5080)
          --results DIR      where to write the results file (default loadtests/results)
        """;

    private static readonly string[] Files = ["teams.csv", "workers.csv", "children.csv", "worker_history.csv"];

    public sealed record Imported(
        string Scenario, DateTimeOffset Date, string Command, Machine Machine, string Url, string Token, long RequestBytes,
        int Status, double WallSeconds, double? ServiceSeconds, int? Teams, int? Workers, int? Children, int? HistoryPeriods,
        double? ChildrenPerSecond, string? Problem);

    public static async Task<int> Run(string[] args)
    {
        Uri url;
        string folder;
        string? results;
        try
        {
            var values = GenerateScenario.Options(args);
            url = RunOptions.LoopbackOnly(GenerateScenario.Take(values, "url") ?? "http://127.0.0.1:5080");
            folder = GenerateScenario.Take(values, "dir") ?? throw new ArgumentException("--dir is required.");
            results = GenerateScenario.Take(values, "results");
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
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = url, Timeout = TimeSpan.FromHours(2) };
        var token = await ApiSignIn.AuthorizeAsync(http);

        using var form = new MultipartFormDataContent();
        long bytes = 0;
        foreach (var name in Files.Where(f => File.Exists(Path.Combine(folder, f))))
        {
            var path = Path.Combine(folder, name);
            bytes += new FileInfo(path).Length;
            var content = new StreamContent(File.OpenRead(path), 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, Path.GetFileNameWithoutExtension(name), name);
        }

        Console.WriteLine($"import {folder} ({bytes:N0} bytes) to {url} on {machine}; token: {token}");
        var elapsed = Stopwatch.StartNew();
        using var response = await http.PostAsync("/api/import", form);
        var body = await response.Content.ReadAsStringAsync();
        elapsed.Stop();

        Imported report;
        var wall = elapsed.Elapsed.TotalSeconds;
        if (response.IsSuccessStatusCode)
        {
            var r = JsonDocument.Parse(body).RootElement;
            var children = r.GetProperty("children").GetInt32();
            report = new Imported("import", DateTimeOffset.UtcNow, "import " + string.Join(' ', args), machine, url.ToString(), token, bytes,
                (int)response.StatusCode, wall, r.GetProperty("milliseconds").GetInt64() / 1000.0, r.GetProperty("teams").GetInt32(),
                r.GetProperty("workers").GetInt32(), children, r.GetProperty("historyPeriods").GetInt32(), children / wall, null);
            Console.WriteLine($"imported {report.Teams:N0} teams, {report.Workers:N0} workers, {children:N0} children ({report.HistoryPeriods:N0} periods): " +
                $"{wall:0.0} s wall, {report.ServiceSeconds:0.0} s in the service after reading the files, {report.ChildrenPerSecond:0} children/s");
        }
        else
        {
            report = new Imported("import", DateTimeOffset.UtcNow, "import " + string.Join(' ', args), machine, url.ToString(), token, bytes,
                (int)response.StatusCode, wall, null, null, null, null, null, null, body.Length > 4000 ? body[..4000] : body);
            Console.Error.WriteLine($"import answered {(int)response.StatusCode} after {wall:0.0} s: {report.Problem}");
        }

        Console.WriteLine("results: " + ResultsFile.Write("import", report, results));
        return response.IsSuccessStatusCode ? 0 : 1;
    }
}
