using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Allocation.Service.Import;

namespace Allocation.LoadTests;

/// <summary>
/// <c>coldstart --service DLL --connection CS</c>: starts the published service as a child process against an existing
/// PostgreSQL database (e.g. the national synthetic authority, imported), and times process start to the first
/// successfully served request: the demo sign-in (where the service has one), then a team board. Each run's console
/// lines are kept with their time since start, so the runs show where the time went; the process is then stopped with
/// SIGTERM and the next run starts cold again.
/// </summary>
public static partial class ColdStartScenario
{
    public const string Usage = """
        usage: Allocation.LoadTests coldstart --service PATH/Allocation.Service.dll --connection CONNECTION_STRING [options]
          --runs N           cold starts to time (default 3)
          --team ID          the team whose board is the first request (default T-0001)
          --port N           HTTP port on loopback (default 5472); Orleans uses --silo-port (11472) and --gateway-port (30472)
          --environment ENV  ASPNETCORE_ENVIRONMENT (default Development; the demo seed is switched off)
          --results DIR      where to write the results file (default loadtests/results)
        """;

    public sealed record Milestone(double Ms, string Line);

    public sealed record ColdRun(int Number, string LoadAverageAtStart, double FirstServedMs, double FirstAttemptAnsweredMs, int Attempts,
        string Token, IReadOnlyList<Milestone> Milestones);

    public sealed record ColdStart(
        string Scenario, DateTimeOffset Date, string Command, Machine Machine, string Service, string Team, double TargetMs,
        IReadOnlyList<ColdRun> Runs, double MedianMs, double MaxMs, bool Pass);

    private const double TargetMs = 5000;

    private const string HeadOfService = "U-HOS";

    public static async Task<int> Run(string[] args)
    {
        string service;
        string connection;
        int runs;
        string team;
        int port, siloPort, gatewayPort;
        string environment;
        string? results;
        try
        {
            var values = GenerateScenario.Options(args);
            service = Path.GetFullPath(GenerateScenario.Take(values, "service") ?? throw new ArgumentException("--service is required."));
            connection = GenerateScenario.Take(values, "connection") ?? throw new ArgumentException("--connection is required.");
            runs = int.Parse(GenerateScenario.Take(values, "runs") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
            team = GenerateScenario.Take(values, "team") ?? "T-0001";
            port = int.Parse(GenerateScenario.Take(values, "port") ?? "5472", System.Globalization.CultureInfo.InvariantCulture);
            siloPort = int.Parse(GenerateScenario.Take(values, "silo-port") ?? "11472", System.Globalization.CultureInfo.InvariantCulture);
            gatewayPort = int.Parse(GenerateScenario.Take(values, "gateway-port") ?? "30472", System.Globalization.CultureInfo.InvariantCulture);
            environment = GenerateScenario.Take(values, "environment") ?? "Development";
            results = GenerateScenario.Take(values, "results");
            if (values.Count > 0)
            {
                throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
            }

            if (!File.Exists(service))
            {
                throw new ArgumentException($"No published service at {service} (dotnet publish src/Allocation.Service -c Release -o DIR).");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var url = new Uri($"http://127.0.0.1:{port}");
        var done = new List<ColdRun>();
        for (var n = 1; n <= runs; n++)
        {
            var run = await OnceAsync(n, service, connection, environment, url, siloPort, gatewayPort, team);
            done.Add(run);
            Console.WriteLine($"run {n}: first served request {run.FirstServedMs:N0} ms after process start ({run.Attempts} attempts, " +
                $"first answer of any kind at {run.FirstAttemptAnsweredMs:N0} ms; token: {run.Token}; load {run.LoadAverageAtStart})");
            foreach (var m in run.Milestones)
            {
                Console.WriteLine($"  {m.Ms,7:N0} ms  {m.Line}");
            }
        }

        var sorted = done.Select(r => r.FirstServedMs).Order().ToList();
        var median = sorted[sorted.Count / 2];
        var report = new ColdStart("coldstart", DateTimeOffset.UtcNow, "coldstart " + Redact(string.Join(' ', args)), Machine.Describe(),
            service, team, TargetMs, done, median, sorted[^1], sorted[^1] <= TargetMs);
        Console.WriteLine($"cold start to first served request: median {median:N0} ms, max {sorted[^1]:N0} ms over {done.Count} runs; " +
            $"target {TargetMs:N0} ms: {(report.Pass ? "PASS" : "MISSED")}");
        Console.WriteLine("results: " + ResultsFile.Write("coldstart", report, results));
        return report.Pass ? 0 : 1;
    }

    private static async Task<ColdRun> OnceAsync(int number, string service, string connection, string environment, Uri url,
        int siloPort, int gatewayPort, string team)
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        var start = new ProcessStartInfo("dotnet", [service])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(service)!,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = environment,
                ["ASPNETCORE_URLS"] = url.ToString(),
                ["ConnectionStrings__Allocation"] = connection,
                ["Seeding__Demo"] = "false",
                // One load-test user sends every command: far over a person's limit.
                ["RateLimits__Commands__PermitLimit"] = "1000000000",
                // The run signs in through the demo sign-in, refused on PostgreSQL unless allowed (throwaway databases only).
                ["DemoSignIn__AllowOnPostgreSQL"] = "true",
                ["Orleans__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Logging__Console__FormatterName"] = "simple",
                ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            },
        };

        var lines = new ConcurrentQueue<Milestone>();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The service did not start.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(60),
        };
        double? firstAnswer = null;
        var attempts = 0;
        string token = "none";
        double served;
        try
        {
            while (true)
            {
                attempts++;
                try
                {
                    // The head of service, who may read every team's board (the administrator may not).
                    token = await ApiSignIn.AuthorizeAsync(http, await ApiSignIn.DemoSignInAsync(http, HeadOfService));
                    firstAnswer ??= clock.Elapsed.TotalMilliseconds;
                    using var response = await http.GetAsync($"/api/teams/{team}/board");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        served = clock.Elapsed.TotalMilliseconds;
                        break;
                    }

                    Keep($"[coldstart] board answered {(int)response.StatusCode}");
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The service exited with {process.ExitCode} before serving; its last lines: " +
                        string.Join(" | ", lines.TakeLast(5).Select(l => l.Line)));
                }

                if (clock.Elapsed > TimeSpan.FromMinutes(5))
                {
                    throw new TimeoutException("No request served within 5 minutes.");
                }

                await Task.Delay(10);
            }
        }
        finally
        {
            await StopAsync(process);
        }

        return new ColdRun(number, load, served, firstAnswer ?? served, attempts, token, Milestones(lines.ToList(), served));

        void Keep(string? line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                lines.Enqueue(new Milestone(Math.Round(clock.Elapsed.TotalMilliseconds, 1), line.Trim()));
            }
        }
    }

    /// <summary>The lines that mark a phase of start-up, up to the first served request and a little after.</summary>
    private static List<Milestone> Milestones(List<Milestone> lines, double served) =>
        lines.Where(l => l.Ms <= served + 2000 && Phase().IsMatch(l.Line)).Take(40).ToList();

    [GeneratedRegex("Hangfire SQL objects|Initializing silo|Started silo|schema|SQL script|Now listening|Application started|BoardObserver|board|Demo|coldstart|fail|crit|warn", RegexOptions.IgnoreCase)]
    private static partial Regex Phase();

    /// <summary>SIGTERM, as a service manager would stop it, so the silo leaves the cluster cleanly before the next start.</summary>
    private static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])))
        {
            await kill!.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static string Redact(string command) => PasswordPattern().Replace(command, "Password=***");

    [GeneratedRegex("Password=[^;\\s]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();
}
