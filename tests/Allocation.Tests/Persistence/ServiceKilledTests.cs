using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.LoadTests;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Persistence;

/// <summary>
/// The built service as a process of its own on PostgreSQL, killed with SIGKILL three times while allocations run;
/// every allocation is retried with its request id until it is answered. Afterwards: every acknowledged allocation is
/// there, no child is held by two workers, each worker holds exactly the children allocated to it, and none is over
/// its ceiling.
/// </summary>
[Collection("postgres")]
public class ServiceKilledTests(PostgresServer postgres)
{
    private const int Workers = 3;
    private const int Ceiling = 4;
    private const int Children = 18;

    [PostgresFact]
    public async Task Killed_three_times_under_allocations_loses_no_acknowledged_allocation_and_breaks_no_ceiling()
    {
        var database = await postgres.CreateDatabaseAsync("killed");
        await using var service = new ServiceProcess(database);
        await service.StartAsync();
        var admin = await service.ClientAsync(admin: true);
        await ServiceClients.Send(admin, HttpMethod.Put, "/api/teams/t1", new { name = "Assessment" });
        for (var w = 1; w <= Workers; w++)
        {
            await ServiceClients.Send(admin, HttpMethod.Put, $"/api/workers/w{w}", new { name = $"Worker {w}", teamId = "t1", role = "SocialWorker", fte = 1.0, ceiling = Ceiling });
        }

        var manager = await service.ClientAsync();
        for (var c = 1; c <= Children; c++)
        {
            await ServiceClients.Send(manager, HttpMethod.Post, $"/api/children/c{c}/refer", new { requestId = $"refer-c{c}", teamId = "t1" });
        }

        // More children than places: some allocations must be refused at the ceiling, whatever the kills do.
        var answers = new ConcurrentDictionary<string, (int Status, string? WorkerId)>();
        var allocations = Task.WhenAll(Enumerable.Range(1, Children).Select(async c =>
        {
            await Task.Delay(c * 250);
            var worker = $"w{c % Workers + 1}";
            answers[$"c{c}"] = (await service.RetryUntilAnsweredAsync($"/api/children/c{c}/allocate", new { requestId = $"allocate-c{c}", workerId = worker }), worker);
        }));
        // Each kill comes once a few more allocations have been answered, so others are always in flight.
        foreach (var answered in new[] { 2, 6, 10 })
        {
            while (answers.Count < answered && !allocations.IsCompleted)
            {
                await Task.Delay(20);
            }

            await service.KillAndRestartAsync();
        }

        await allocations;
        var http = await service.ClientAsync();
        var held = new Dictionary<string, List<string>>();
        foreach (var (child, (status, worker)) in answers)
        {
            var view = await http.GetFromJsonAsync<JsonElement>($"/api/children/{child}");
            var actual = view.GetProperty("workerId").GetString();
            Assert.True(status is 200 or 409, $"{child}: answered {status}");
            if (status == 200)
            {
                Assert.Equal(worker, actual);
            }

            if (actual is not null)
            {
                (held.TryGetValue(actual, out var list) ? list : held[actual] = []).Add(child);
            }
        }

        for (var w = 1; w <= Workers; w++)
        {
            var worker = await http.GetFromJsonAsync<JsonElement>($"/api/workers/w{w}");
            var caseload = worker.GetProperty("caseloadCount").GetInt32();
            Assert.Equal(held.GetValueOrDefault($"w{w}")?.Count ?? 0, caseload);
            Assert.True(caseload <= Ceiling, $"w{w} holds {caseload}, over the ceiling of {Ceiling}");
        }

        Assert.Equal(Workers * Ceiling, held.Values.Sum(l => l.Count));
        Assert.Equal(Workers * Ceiling, answers.Values.Count(a => a.Status == 200));
    }

    /// <summary>The service built beside the tests, run as a process; killed with SIGKILL and started again on the same ports.</summary>
    private sealed class ServiceProcess(string connectionString) : IAsyncDisposable
    {
        private readonly int _httpPort = FreePorts.Next();
        private readonly int _siloPort = FreePorts.Next();
        private readonly int _gatewayPort = FreePorts.Next();
        private readonly string _clusterId = "killed-" + Guid.NewGuid().ToString("N")[..8];
        private readonly SemaphoreSlim _restarting = new(1, 1);
        private Process? _process;
        private ServiceClients? _clients;

        private Uri Url => new($"http://127.0.0.1:{_httpPort}");

        public async Task StartAsync()
        {
            var dll = Path.Combine(Root(), "src", "Allocation.Service", "bin", "Release", "net10.0", "Allocation.Service.dll");
            var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
            start.Environment["ASPNETCORE_URLS"] = Url.ToString();
            start.Environment["ConnectionStrings__Allocation"] = connectionString;
            start.Environment["Orleans__SiloPort"] = _siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Orleans__GatewayPort"] = _gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Orleans__ClusterId"] = _clusterId;
            start.Environment["Seeding__Demo"] = "false";
            start.Environment["DemoSignIn__AllowOnPostgreSQL"] = "true";
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            using var probe = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(2) };
            var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (DateTime.UtcNow < giveUp)
            {
                try
                {
                    if ((await probe.GetAsync("/health/ready")).IsSuccessStatusCode)
                    {
                        // Demo tokens are signed with a key of the process: sign in again after every start.
                        _clients?.Dispose();
                        _clients = await ServiceClients.SignIn(Url);
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                Assert.False(_process.HasExited, "The service exited while starting.");
                await Task.Delay(200);
            }

            throw new TimeoutException("The service did not become ready.");
        }

        /// <summary>The head of service's client (commands, reads), or the administrator's (teams and workers).</summary>
        public async Task<HttpClient> ClientAsync(bool admin = false)
        {
            await _restarting.WaitAsync();
            _restarting.Release();
            return admin ? _clients!.Admin : _clients!.HeadOfService;
        }

        public async Task KillAndRestartAsync()
        {
            await _restarting.WaitAsync();
            try
            {
                _process!.Kill();   // SIGKILL: no shutdown, no flush
                await _process.WaitForExitAsync();
                _process.Dispose();
                await StartAsync();
            }
            finally
            {
                _restarting.Release();
            }
        }

        /// <summary>Sends the command until the service answers it (anything but a lost connection or a 5xx).</summary>
        public async Task<int> RetryUntilAnsweredAsync(string path, object body)
        {
            var giveUp = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                try
                {
                    var http = await ClientAsync();
                    using var response = await http.PostAsJsonAsync(path, body);
                    var status = (int)response.StatusCode;
                    if (status < 500 && response.StatusCode != HttpStatusCode.Unauthorized)
                    {
                        return status;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                Assert.True(DateTime.UtcNow < giveUp, $"{path} was never answered.");
                await Task.Delay(100);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _clients?.Dispose();
            if (_process is { HasExited: false })
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process?.Dispose();
        }

        private static string Root()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new DirectoryNotFoundException("Allocation.sln not found above the test's folder.");
        }
    }
}
