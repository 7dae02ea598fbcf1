using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Allocation.LoadTests.Faults;

/// <summary>
/// The built or published service (<c>Allocation.Service.dll</c>) run as a process of its own on PostgreSQL, so it can be
/// killed as a node dies: SIGKILL, no shutdown. It keeps its HTTP, silo and gateway ports across restarts (a restarted
/// silo on the same port takes the dead one's place in the membership table at once, instead of waiting for it to be
/// declared dead). Development environment for the demo sign-in; the demo seed is off.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly string _dll;
    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _lines = new();
    private Process? _process;

    public ServiceProcess(string dll, string connectionString, string clusterId, IReadOnlyDictionary<string, string>? extra = null)
    {
        _dll = Path.GetFullPath(dll);
        if (!File.Exists(_dll))
        {
            throw new ArgumentException($"No service at {_dll} (dotnet build or publish src/Allocation.Service -c Release).");
        }

        Url = new Uri($"http://127.0.0.1:{DurablePostgres.FreePort()}");
        _environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = Url.ToString(),
            ["ConnectionStrings__Allocation"] = connectionString,
            ["Orleans__ClusterId"] = clusterId,
            ["Orleans__SiloPort"] = DurablePostgres.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = DurablePostgres.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Seeding__Demo"] = "false",
            // A throwaway database: the demo sign-in gives the load its tokens.
            ["DemoSignIn__AllowOnPostgreSQL"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            _environment[name] = value;
        }
    }

    public Uri Url { get; }

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts the process and waits until <c>/health/ready</c> answers 200; the time that took.</summary>
    public async Task<TimeSpan> StartAsync(TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("dotnet", [_dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(_dll)!,
        };
        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }

        var clock = Stopwatch.StartNew();
        _process = Process.Start(start) ?? throw new InvalidOperationException("The service did not start.");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitReadyAsync(timeout ?? TimeSpan.FromSeconds(120));
        return clock.Elapsed;
    }

    /// <summary>SIGKILL: the process ends where it stands, mid-request, mid-write.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) })
        {
            BaseAddress = Url,
            Timeout = TimeSpan.FromSeconds(10),
        };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (_process is { HasExited: true } exited)
            {
                throw new InvalidOperationException($"The service exited with {exited.ExitCode}; its last lines:\n{Tail()}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The service was not ready within {timeout.TotalSeconds:0} s; its last lines:\n{Tail()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The last lines the service wrote, for a failure message.</summary>
    public string Tail(int count = 30) => string.Join('\n', _lines.TakeLast(count));

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            // The end of a run, not a fault: SIGTERM, so the silo leaves the cluster cleanly.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
        }

        _process?.Dispose();
    }

    private void Keep(string? line)
    {
        if (!string.IsNullOrWhiteSpace(line))
        {
            _lines.Enqueue(line);
            while (_lines.Count > 500 && _lines.TryDequeue(out _))
            {
            }
        }
    }
}
