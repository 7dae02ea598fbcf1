using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Allocation.Tests.Infrastructure;

/// <summary>
/// The service as a real process, started the way an engineer would from a shell: <c>dotnet run --project
/// src/Allocation.Service</c> from the repository root (with <c>--no-build</c> and the tests' configuration, since the
/// tests built it already), or the built assembly run directly, as a service unit runs the published one. The child gets
/// this process's environment without any ASP.NET or configuration variables, plus the ones a test gives.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly string _configuration =
        typeof(ServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(ProcessStartInfo start)
    {
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>What the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary><c>dotnet run --project src/Allocation.Service</c>, launch profile and all.</summary>
    public static ServiceProcess DotnetRun(IReadOnlyDictionary<string, string> environment) =>
        new(Start(RepositoryRoot, environment, "run", "--no-build", "-c", _configuration, "--project", "src/Allocation.Service"));

    /// <summary>The built service run directly from its own folder, with no launch profile.</summary>
    public static ServiceProcess Built(IReadOnlyDictionary<string, string> environment)
    {
        var folder = Path.Combine(RepositoryRoot, "src", "Allocation.Service", "bin", _configuration,
            Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)));
        return new(Start(folder, environment, Path.Combine(folder, "Allocation.Service.dll")));
    }

    /// <summary>The process's exit code, once it has exited by itself.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The service was still running after {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Waits for <c>/health/ready</c> to answer 200; fails with the output if the process exits first.</summary>
    public async Task WaitUntilReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {_process.ExitCode} before it was ready. Output:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"The service was not ready within {timeout.TotalSeconds:0} s. Output:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // `dotnet run` has the service as its child: stop both, and only those.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static ProcessStartInfo Start(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A variable of the machine running the tests must not decide the environment or a setting.
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ALLOCATION_", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase) || name.Contains("__", StringComparison.Ordinal))
            {
                start.Environment.Remove(name);
            }
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Allocation.sln above {AppContext.BaseDirectory}.");
    }
}
