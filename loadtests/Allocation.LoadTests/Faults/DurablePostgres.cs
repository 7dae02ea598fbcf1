using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Allocation.LoadTests.Faults;

/// <summary>
/// A throwaway PostgreSQL that keeps what it acknowledges (fsync, synchronous commit and full page writes on, as
/// <c>loadtests/durable.sh</c> starts it), so a crash of the database itself loses nothing it said was committed.
/// It can be crashed (<c>pg_ctl -m immediate</c>: no checkpoint, recovery from the WAL on the next start) and started
/// again on the same port. Only the server this class started is ever stopped, by its own data directory.
/// </summary>
public sealed class DurablePostgres : IAsyncDisposable
{
    private const string SuperUser = "postgres";
    private readonly string _bin;
    private readonly string _directory;

    private DurablePostgres(string bin, string directory, int port)
    {
        _bin = bin;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The service's database, on this server.</summary>
    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database=allocation;Maximum Pool Size=100;Timeout=5;Command Timeout=15";

    private string Data => Path.Combine(_directory, "data");

    /// <summary>The newest installed server binaries, or null.</summary>
    public static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "pg_ctl"))).OrderByDescending(b => b, StringComparer.Ordinal).FirstOrDefault()
            : null;

    public static async Task<DurablePostgres> StartAsync()
    {
        var bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install postgresql).");
        var directory = Path.Combine(Path.GetTempPath(), "allocation-faults-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        if (IsRoot)
        {
            await Run("chown", [SuperUser, directory], asPostgres: false);
        }

        var server = new DurablePostgres(bin, directory, FreePort());
        await server.Pg("initdb", "-D", server.Data, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--locale=C");
        await server.StartAgainAsync();
        await Run(Path.Combine(bin, "psql"), ["-h", "127.0.0.1", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser,
            "-qc", "create database allocation"], asPostgres: false);
        return server;
    }

    /// <summary>Starts the server (again) on its port, waiting until it accepts connections.</summary>
    public Task StartAgainAsync() =>
        Pg("pg_ctl", "-D", Data, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60", "-o",
            $"-c listen_addresses=127.0.0.1 -p {Port} -k {_directory} -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300",
            "start");

    /// <summary>Stops the server as a power cut would: every backend killed at once, nothing flushed beyond the WAL.</summary>
    public Task CrashAsync() => Pg("pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(Data, "postmaster.pid")))
        {
            try
            {
                await Pg("pg_ctl", "-D", Data, "-m", "fast", "-w", "-t", "30", "stop");
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying server; the temp cleaner takes it.
        }
    }

    public string Log() => File.Exists(Path.Combine(_directory, "server.log")) ? File.ReadAllText(Path.Combine(_directory, "server.log")) : "";

    private Task Pg(string tool, params string[] arguments) => Run(Path.Combine(_bin, tool), arguments, asPostgres: true);

    private static async Task Run(string file, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres && IsRoot)
        {
            // The server refuses to run as root.
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", SuperUser, "--", file])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = file;
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    private static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
