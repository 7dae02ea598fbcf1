using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Allocation.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server for the tests in the "postgres" collection. With <c>ALLOCATION_TEST_PG</c> set to a connection
/// string that server is used; otherwise a throwaway server is initialised in a temporary directory, started on a free
/// loopback port without durability (fsync off), and stopped and deleted when the collection ends.
/// Each test takes its own database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed partial class PostgresServer : IAsyncLifetime
{
    public const string ConnectionStringVariable = "ALLOCATION_TEST_PG";

    public const string NotAvailable =
        "PostgreSQL not available: install postgresql (apt-get install postgresql) or set ALLOCATION_TEST_PG to a connection string";

    private const string PostgresRoot = "/usr/lib/postgresql";
    private const string SuperUser = "postgres";
    private static readonly TimeSpan _startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan _commandTimeout = TimeSpan.FromSeconds(60);

    private readonly List<string> _createdDatabases = [];
    private string? _adminConnectionString;
    private string? _directory;
    private string? _binDirectory;
    private bool _external;

    /// <summary>Connection string to the server's maintenance database (<c>postgres</c>), for tests that need it.</summary>
    public string AdminConnectionString =>
        _adminConnectionString ?? throw new InvalidOperationException("The PostgreSQL server has not started.");

    /// <summary>The newest <c>/usr/lib/postgresql/*/bin</c> holding <c>initdb</c>, or null when none is installed.</summary>
    public static string? FindBinDirectory()
    {
        if (!Directory.Exists(PostgresRoot))
        {
            return null;
        }

        return Directory.GetDirectories(PostgresRoot)
            .Select(d => (Bin: Path.Combine(d, "bin"), Version: Version.TryParse(VersionOf(Path.GetFileName(d)), out var v) ? v : null))
            .Where(x => x.Version is not null && File.Exists(Path.Combine(x.Bin, "initdb")) && File.Exists(Path.Combine(x.Bin, "pg_ctl")))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Bin)
            .FirstOrDefault();

        // "15" is not a System.Version; "15.0" is.
        static string VersionOf(string name) => name.Contains('.', StringComparison.Ordinal) ? name : name + ".0";
    }

    /// <summary>True when tests can get a server: a connection string is configured or the binaries are installed.</summary>
    public static bool IsAvailable =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ConnectionStringVariable)) || FindBinDirectory() is not null;

    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            _external = true;
            _adminConnectionString = configured;
            await WaitUntilAcceptingAsync(configured);
            return;
        }

        _binDirectory = FindBinDirectory()
            ?? throw new InvalidOperationException($"{NotAvailable}. No {PostgresRoot}/*/bin/initdb was found.");

        _directory = Path.Combine(Path.GetTempPath(), "allocation-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        if (IsRoot)
        {
            // The server refuses to run as root: the data lives with, and the binaries run as, the postgres user.
            await RunAsync("chown", [SuperUser, _directory], asPostgres: false);
        }

        var data = Path.Combine(_directory, "data");
        await RunAsync(Path.Combine(_binDirectory, "initdb"),
            ["-D", data, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            asPostgres: true);

        // The port is free when picked but could be taken before the server binds it: try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var port = FreePorts.Next();
            try
            {
                await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
                [
                    "-D", data, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", ((int)_startTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    "-o", $"-c listen_addresses=127.0.0.1 -p {port} -k {_directory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                    "start",
                ], asPostgres: true);
                var connectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1",
                    Port = port,
                    Username = SuperUser,
                    Database = "postgres",
                    IncludeErrorDetail = true,
                }.ConnectionString;
                await WaitUntilAcceptingAsync(connectionString);
                _adminConnectionString = connectionString;
                return;
            }
            catch (Exception ex)
            {
                last = ex;
                await StopOwnServerAsync();
            }
        }

        throw new InvalidOperationException($"PostgreSQL did not start. Server log:\n{ReadLog()}", last);
    }

    /// <summary>Creates an empty database and returns its connection string. <paramref name="name"/> is a readable prefix; a unique suffix is always added.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        var prefix = string.IsNullOrWhiteSpace(name) ? "test" : Unsafe().Replace(name.ToLowerInvariant(), "_");
        if (prefix.Length > 40)
        {
            prefix = prefix[..40];
        }

        var database = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{database}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        lock (_createdDatabases)
        {
            _createdDatabases.Add(database);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_external)
        {
            await DropCreatedDatabasesAsync();
            return;
        }

        await StopOwnServerAsync();
        if (_directory is not null && Directory.Exists(_directory))
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a dying server process; the OS temp cleaner takes the rest.
            }
        }
    }

    private async Task DropCreatedDatabasesAsync()
    {
        string[] databases;
        lock (_createdDatabases)
        {
            databases = [.. _createdDatabases];
        }

        if (databases.Length == 0 || _adminConnectionString is null)
        {
            return;
        }

        try
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            foreach (var database in databases)
            {
                await using var command = new NpgsqlCommand($"drop database if exists \"{database}\" with (force)", connection);
                await command.ExecuteNonQueryAsync();
            }
        }
        catch (NpgsqlException)
        {
            // Leftover test databases on a shared server are untidy, not wrong.
        }
    }

    /// <summary>Stops the server this fixture started, and only that one: by its data directory, else by its own postmaster pid.</summary>
    private async Task StopOwnServerAsync()
    {
        if (_directory is null || _binDirectory is null)
        {
            return;
        }

        var data = Path.Combine(_directory, "data");
        var pidFile = Path.Combine(data, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var pid = ReadPostmasterPid(pidFile);
        try
        {
            await RunAsync(Path.Combine(_binDirectory, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"], asPostgres: true);
            return;
        }
        catch (InvalidOperationException)
        {
            // Fall through to killing the postmaster directly.
        }

        if (pid is int id)
        {
            try
            {
                using var process = Process.GetProcessById(id);
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or OperationCanceledException)
            {
                // Already gone, or not ours to wait on.
            }
        }
    }

    private static int? ReadPostmasterPid(string pidFile)
    {
        try
        {
            var first = File.ReadLines(pidFile).FirstOrDefault();
            return int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task WaitUntilAcceptingAsync(string connectionString)
    {
        var deadline = DateTime.UtcNow + _startTimeout;
        var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("select 1", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException(
                        $"PostgreSQL at {new NpgsqlConnectionStringBuilder(connectionString) { Password = null }} did not accept connections within {_startTimeout.TotalSeconds:0} s.", ex);
                }

                await Task.Delay(200);
            }
        }
    }

    private async Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _directory ?? Path.GetTempPath(),
        };
        if (asPostgres && IsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", SuperUser, "--", fileName])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = fileName;
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(_commandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} did not finish within {_commandTimeout.TotalSeconds:0} s.");
        }

        output.Append(await stdout).Append(await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}\n{ReadLog()}");
        }
    }

    private string ReadLog()
    {
        var log = _directory is null ? null : Path.Combine(_directory, "server.log");
        try
        {
            return log is not null && File.Exists(log) ? File.ReadAllText(log) : "(no server log)";
        }
        catch (IOException)
        {
            return "(server log unreadable)";
        }
    }

    private static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex Unsafe();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
