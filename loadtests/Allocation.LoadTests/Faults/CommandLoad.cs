using System.Diagnostics;

namespace Allocation.LoadTests.Faults;

/// <summary>A command the service acknowledged (200), and what it was about.</summary>
public sealed record Acknowledged(string RequestId, string Kind, string Subject, bool Replayed, int Attempts);

/// <summary>What this client believes of a child, from the commands the service acknowledged.</summary>
public sealed class ChildModel(string id)
{
    public string Id { get; } = id;
    public bool Referred { get; set; }
    public bool Open { get; set; }
    public string? TeamId { get; set; }
    public string? WorkerId { get; set; }
    public int Episodes { get; set; }
    /// <summary>Allocation periods: one per acknowledged allocate or reallocate.</summary>
    public int Periods { get; set; }
    public int Transfers { get; set; }
    public bool Busy { get; set; }
}

public sealed class WorkerModel(string id, string teamId, int ceiling)
{
    public string Id { get; } = id;
    public string TeamId { get; } = teamId;
    public int Ceiling { get; } = ceiling;
    public bool Left { get; set; }
}

/// <summary>
/// A mixed command load (refer, allocate, reallocate, transfer, close, and now and then a worker leaving), each command
/// with its own request id and resent with the same one until the service gives an answer it stands by (see
/// <see cref="CommandClient"/>). Each child has at most one command in flight, so the model of what the acknowledged
/// commands should have done is exact; a leave waits until no other command is in flight.
/// </summary>
public sealed class CommandLoad
{
    private readonly object _lock = new();
    private readonly Random _random;
    private readonly List<Acknowledged> _acknowledged = [];
    private readonly SemaphoreSlim _leaving = new(1, 1);
    private long _sent, _refused;

    private CommandLoad(string runId, List<string> teams, List<WorkerModel> workers, List<ChildModel> children, int seed)
    {
        RunId = runId;
        Teams = teams;
        Workers = workers;
        Children = children;
        _random = new Random(seed);
    }

    public string RunId { get; }
    public IReadOnlyList<string> Teams { get; }
    public IReadOnlyList<WorkerModel> Workers { get; }
    public IReadOnlyList<ChildModel> Children { get; }

    /// <summary>Chance that a command is a worker leaving (never more than a third of the workers leave).</summary>
    public double LeaveChance { get; init; } = 0.004;

    public long Sent => Interlocked.Read(ref _sent);
    public long Refused => Interlocked.Read(ref _refused);

    public IReadOnlyList<Acknowledged> AcknowledgedCommands
    {
        get
        {
            lock (_lock)
            {
                return [.. _acknowledged];
            }
        }
    }

    /// <summary>When the last command was acknowledged (for recovery times).</summary>
    public DateTimeOffset LastAcknowledgedAt { get; private set; }

    /// <summary>Creates the teams and workers (small explicit ceilings, so the ceiling is reached and refusals happen).</summary>
    public static async Task<CommandLoad> SetUpAsync(CommandClient admin, string runId, int teams, int workersPerTeam, int ceiling, int children, int seed = 1)
    {
        var teamIds = Enumerable.Range(1, teams).Select(t => $"{runId}-t{t}").ToList();
        foreach (var team in teamIds)
        {
            Expect(await admin.SendAsync(HttpMethod.Put, $"/api/teams/{team}", new { name = $"Fault team {team}" }), $"team {team}");
        }

        var workers = new List<WorkerModel>();
        foreach (var team in teamIds)
        {
            for (var w = 1; w <= workersPerTeam; w++)
            {
                var id = $"{team}-w{w}";
                Expect(await admin.SendAsync(HttpMethod.Put, $"/api/workers/{id}",
                    new { name = $"Fault worker {id}", teamId = team, role = "SocialWorker", fte = 1.0m, ceiling }), $"worker {id}");
                workers.Add(new WorkerModel(id, team, ceiling));
            }
        }

        var childModels = Enumerable.Range(1, children).Select(c => new ChildModel($"{runId}-c{c}")).ToList();
        return new CommandLoad(runId, teamIds, workers, childModels, seed);

        static void Expect(Answer answer, string what)
        {
            if (!answer.Ok)
            {
                throw new InvalidOperationException($"Setting up {what}: {answer.Status} {answer.Body}");
            }
        }
    }

    /// <summary>Runs <paramref name="concurrency"/> senders, paced to <paramref name="rate"/> commands per second in all,
    /// until <paramref name="stop"/> is cancelled; each command in flight then runs to its final answer.</summary>
    public async Task RunAsync(CommandClient manager, int concurrency, double rate, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        long slot = 0;
        var gate = new SemaphoreSlim(concurrency, concurrency);
        var senders = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                var due = TimeSpan.FromSeconds(Interlocked.Increment(ref slot) / rate);
                if (due > clock.Elapsed)
                {
                    try
                    {
                        await Task.Delay(due - clock.Elapsed, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }

                if (Chance(LeaveChance) && Workers.Count(w => w.Left) < Workers.Count / 3)
                {
                    await _leaving.WaitAsync();
                    try
                    {
                        for (var i = 0; i < concurrency; i++)
                        {
                            await gate.WaitAsync();
                        }

                        await LeaveAsync(manager);
                    }
                    finally
                    {
                        gate.Release(concurrency);
                        _leaving.Release();
                    }

                    continue;
                }

                await gate.WaitAsync();
                try
                {
                    await OneChildCommandAsync(manager);
                }
                finally
                {
                    gate.Release();
                }
            }
        }).ToList();
        await Task.WhenAll(senders);
    }

    private bool Chance(double p)
    {
        lock (_lock)
        {
            return _random.NextDouble() < p;
        }
    }

    private async Task OneChildCommandAsync(CommandClient manager)
    {
        ChildModel child;
        string kind, path;
        object body;
        string? workerId = null, teamId = null;
        lock (_lock)
        {
            var idle = Children.Where(c => !c.Busy).ToList();
            if (idle.Count == 0)
            {
                return;
            }

            child = idle[_random.Next(idle.Count)];
            child.Busy = true;
            var requestId = $"{child.Id}-{Guid.NewGuid():N}"[..Math.Min(child.Id.Length + 13, 64)];
            var roll = _random.NextDouble();
            var others = Teams.Where(t => t != child.TeamId).ToList();
            if (!child.Open)
            {
                (kind, teamId) = ("refer", Teams[_random.Next(Teams.Count)]);
                body = new { requestId, teamId };
            }
            else if (child.WorkerId is null && roll < 0.75)
            {
                // Any worker of the team, left or not, full or not: the service decides.
                var team = Workers.Where(w => w.TeamId == child.TeamId).ToList();
                (kind, workerId) = ("allocate", team[_random.Next(team.Count)].Id);
                body = new { requestId, workerId };
            }
            else if (child.WorkerId is not null && roll < 0.45)
            {
                var team = Workers.Where(w => w.TeamId == child.TeamId && w.Id != child.WorkerId).ToList();
                (kind, workerId) = ("reallocate", team[_random.Next(team.Count)].Id);
                body = new { requestId, workerId, reason = "Fault load: a change of worker" };
            }
            else if (roll < 0.9 && others.Count > 0)
            {
                (kind, teamId) = ("transfer", others[_random.Next(others.Count)]);
                body = new { requestId, toTeamId = teamId, reason = "Fault load: a transfer" };
            }
            else
            {
                kind = "close";
                body = new { requestId, reason = "Fault load: case closed" };
            }

            path = $"/api/children/{child.Id}/{kind}";
        }

        try
        {
            Interlocked.Increment(ref _sent);
            var answer = await manager.SendAsync(HttpMethod.Post, path, body);
            lock (_lock)
            {
                if (!answer.Ok)
                {
                    Interlocked.Increment(ref _refused);
                    return;
                }

                switch (kind)
                {
                    case "refer":
                        (child.Referred, child.Open, child.TeamId, child.WorkerId) = (true, true, teamId, null);
                        child.Episodes++;
                        break;
                    case "allocate" or "reallocate":
                        child.WorkerId = workerId;
                        child.Periods++;
                        break;
                    case "transfer":
                        (child.TeamId, child.WorkerId) = (teamId, null);
                        child.Transfers++;
                        break;
                    case "close":
                        (child.Open, child.WorkerId) = (false, null);
                        break;
                }

                _acknowledged.Add(new Acknowledged(RequestIdOf(body), kind, child.Id, answer.Replayed, answer.Attempts));
                LastAcknowledgedAt = DateTimeOffset.UtcNow;
            }
        }
        finally
        {
            lock (_lock)
            {
                child.Busy = false;
            }
        }
    }

    /// <summary>A worker leaves; their children go back to the team's queue. Runs alone, so the model knows which.</summary>
    private async Task LeaveAsync(CommandClient manager)
    {
        WorkerModel worker;
        string requestId;
        lock (_lock)
        {
            var staying = Workers.Where(w => !w.Left).ToList();
            worker = staying[_random.Next(staying.Count)];
            requestId = $"{worker.Id}-leave-{Guid.NewGuid():N}"[..Math.Min(worker.Id.Length + 15, 64)];
        }

        Interlocked.Increment(ref _sent);
        var answer = await manager.SendAsync(HttpMethod.Post, $"/api/workers/{worker.Id}/leave", new { requestId, reason = "Fault load: left the service" });
        lock (_lock)
        {
            if (!answer.Ok)
            {
                Interlocked.Increment(ref _refused);
                return;
            }

            worker.Left = true;
            foreach (var child in Children.Where(c => c.Open && c.WorkerId == worker.Id))
            {
                child.WorkerId = null;
            }

            _acknowledged.Add(new Acknowledged(requestId, "leave", worker.Id, answer.Replayed, answer.Attempts));
            LastAcknowledgedAt = DateTimeOffset.UtcNow;
        }
    }

    private static string RequestIdOf(object body) => (string)body.GetType().GetProperty("requestId")!.GetValue(body)!;
}
