using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Allocation.LoadTests.Faults;

/// <summary>
/// Team board clients as the board page is one: each subscribes to a team board over the hub, takes the snapshot, applies
/// each delta whose version is the next one, fetches a fresh snapshot when a delta skips a version, and after its
/// connection drops reconnects (for ever, a second apart) and subscribes again. What a client holds is what a screen shows,
/// so a version lower than the one held is a board going backwards on screen.
/// </summary>
public sealed class BoardWatcher : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly HubConnection _hub;
    private readonly List<JsonElement> _buffered = [];
    private readonly Dictionary<string, HashSet<string>> _cards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _queue = new(StringComparer.Ordinal);
    private bool _resyncing;

    public BoardWatcher(Uri url, string teamId, Func<Task<string?>> token)
    {
        TeamId = teamId;
        _hub = new HubConnectionBuilder()
            .WithUrl(new Uri(url, "/hubs/boards"), o => o.AccessTokenProvider = token)
            .WithAutomaticReconnect(new EverySecond())
            .Build();
        _hub.On<JsonElement>("teamBoardDelta", OnDelta);
        _hub.Reconnected += connectionId =>
        {
            _ = Task.Run(Resync);
            return Task.CompletedTask;
        };
    }

    public string TeamId { get; }

    public long Version { get; private set; }

    /// <summary>Snapshots taken (the first, one after each reconnect, one after each skipped version).</summary>
    public int Snapshots { get; private set; }

    /// <summary>Snapshots taken because a delta skipped a version.</summary>
    public int GapResyncs { get; private set; }

    public int DeltasApplied { get; private set; }

    /// <summary>Times a snapshot or delta would have put the board on screen back to an earlier version.</summary>
    public int Backwards { get; private set; }

    /// <summary>When the last snapshot was taken (after a reconnect: the moment the client held the server's board again).</summary>
    public long LastSnapshotAt { get; private set; }

    public HubConnectionState State => _hub.State;

    public async Task StartAsync()
    {
        await _hub.StartAsync();
        await Resync();
    }

    /// <summary>The board this client holds: each worker's children, and the queue.</summary>
    public (long Version, Dictionary<string, HashSet<string>> Cards, HashSet<string> Queue) Held()
    {
        lock (_lock)
        {
            return (Version, _cards.ToDictionary(c => c.Key, c => c.Value.ToHashSet(StringComparer.Ordinal)), _queue.ToHashSet(StringComparer.Ordinal));
        }
    }

    /// <summary>Differences between the board held and <paramref name="board"/> (as the API serves it), or null when equal.</summary>
    public string? Differs(JsonElement board)
    {
        var (version, cards, queue) = Held();
        var serverQueue = board.GetProperty("unallocated").EnumerateArray().Select(q => q.GetProperty("childId").GetString()!).ToHashSet();
        var serverCards = board.GetProperty("workers").EnumerateArray().ToDictionary(
            w => w.GetProperty("workerId").GetString()!, w => w.GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToHashSet());
        var differences = new List<string>();
        if (version != board.GetProperty("version").GetInt64())
        {
            differences.Add($"version {version}, server {board.GetProperty("version").GetInt64()}");
        }

        if (!queue.SetEquals(serverQueue))
        {
            differences.Add($"queue [{string.Join(' ', queue.Order())}], server [{string.Join(' ', serverQueue.Order())}]");
        }

        foreach (var worker in cards.Keys.Union(serverCards.Keys).Order())
        {
            var held = cards.GetValueOrDefault(worker);
            var served = serverCards.GetValueOrDefault(worker);
            if (held is null || served is null || !held.SetEquals(served))
            {
                differences.Add($"{worker} [{(held is null ? "no card" : string.Join(' ', held.Order()))}], server [{(served is null ? "no card" : string.Join(' ', served.Order()))}]");
            }
        }

        return differences.Count == 0 ? null : $"{TeamId}: " + string.Join("; ", differences);
    }

    public ValueTask DisposeAsync() => _hub.DisposeAsync();

    private void OnDelta(JsonElement delta)
    {
        lock (_lock)
        {
            if (_resyncing)
            {
                _buffered.Add(delta.Clone());
                return;
            }

            if (Apply(delta))
            {
                return;
            }

            _resyncing = true;
            GapResyncs++;
        }

        // Not awaited: a hub call made inside a handler would wait on the very loop that delivers its answer.
        _ = Task.Run(Resync);
    }

    /// <summary>Applies the delta if it is the next version; true when it was applied or is older than the board held.</summary>
    private bool Apply(JsonElement delta)
    {
        var version = delta.GetProperty("version").GetInt64();
        if (version <= Version)
        {
            return true;
        }

        if (version != Version + 1)
        {
            return false;
        }

        foreach (var worker in delta.GetProperty("removedWorkers").EnumerateArray())
        {
            _cards.Remove(worker.GetString()!);
        }

        foreach (var card in delta.GetProperty("workers").EnumerateArray())
        {
            _cards[card.GetProperty("workerId").GetString()!] = card.GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToHashSet(StringComparer.Ordinal);
        }

        foreach (var child in delta.GetProperty("removedUnallocated").EnumerateArray())
        {
            _queue.Remove(child.GetString()!);
        }

        foreach (var item in delta.GetProperty("unallocated").EnumerateArray())
        {
            _queue.Add(item.GetProperty("childId").GetString()!);
        }

        Version = version;
        DeltasApplied++;
        return true;
    }

    private async Task Resync()
    {
        while (true)
        {
            lock (_lock)
            {
                _resyncing = true;
            }

            JsonElement board;
            try
            {
                board = await _hub.InvokeAsync<JsonElement>("SubscribeTeam", TeamId);
            }
            catch (Exception)
            {
                if (_hub.State != HubConnectionState.Connected)
                {
                    // Dropped again: the next reconnect subscribes again.
                    return;
                }

                // Refused for now (the team's grain between silos, the database away): ask again.
                await Task.Delay(500);
                continue;
            }

            lock (_lock)
            {
                var version = board.GetProperty("version").GetInt64();
                if (version < Version)
                {
                    Backwards++;
                }

                _cards.Clear();
                foreach (var card in board.GetProperty("workers").EnumerateArray())
                {
                    _cards[card.GetProperty("workerId").GetString()!] = card.GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToHashSet(StringComparer.Ordinal);
                }

                _queue.Clear();
                _queue.UnionWith(board.GetProperty("unallocated").EnumerateArray().Select(q => q.GetProperty("childId").GetString()!));
                Version = version;
                Snapshots++;
                LastSnapshotAt = Stopwatch.GetTimestamp();
                var gap = false;
                foreach (var delta in _buffered.OrderBy(d => d.GetProperty("version").GetInt64()))
                {
                    gap |= !Apply(delta);
                }

                _buffered.Clear();
                if (!gap)
                {
                    _resyncing = false;
                    return;
                }

                GapResyncs++;
            }
        }
    }

    private sealed class EverySecond : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext context) => TimeSpan.FromSeconds(1);
    }
}

/// <summary>Many <see cref="BoardWatcher"/>s over the teams of a run, on one host.</summary>
public sealed class BoardWatchers(IReadOnlyList<BoardWatcher> watchers) : IAsyncDisposable
{
    public IReadOnlyList<BoardWatcher> All => watchers;

    public static async Task<BoardWatchers> ConnectAsync(Uri url, IReadOnlyList<string> teams, int count, Func<Task<string?>> token)
    {
        var watchers = Enumerable.Range(0, count).Select(i => new BoardWatcher(url, teams[i % teams.Count], token)).ToList();
        await Parallel.ForEachAsync(watchers, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (w, _) => await w.StartAsync());
        return new BoardWatchers(watchers);
    }

    public int Backwards => watchers.Sum(w => w.Backwards);

    public int GapResyncs => watchers.Sum(w => w.GapResyncs);

    public long DeltasApplied => watchers.Sum(w => (long)w.DeltasApplied);

    /// <summary>Waits until every watcher has taken a snapshot after <paramref name="since"/> (a timestamp); the time each took.</summary>
    public async Task<List<double>> ResubscribedAsync(long since, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (watchers.Any(w => w.LastSnapshotAt <= since) && clock.Elapsed < timeout)
        {
            await Task.Delay(100);
        }

        return watchers.Where(w => w.LastSnapshotAt > since).Select(w => Stopwatch.GetElapsedTime(since, w.LastSnapshotAt).TotalMilliseconds).ToList();
    }

    /// <summary>Waits until every watcher holds the board the server serves (read through <paramref name="reader"/>); the
    /// differences left when <paramref name="settle"/> ran out.</summary>
    public async Task<List<string>> CompareAsync(CommandClient reader, TimeSpan settle)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var boards = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var team in watchers.Select(w => w.TeamId).Distinct())
            {
                boards[team] = await reader.GetAsync($"/api/teams/{team}/board");
            }

            var differences = watchers.Select(w => w.Differs(boards[w.TeamId])).OfType<string>().ToList();
            if (differences.Count == 0 || clock.Elapsed > settle)
            {
                return differences;
            }

            await Task.Delay(500);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Parallel.ForEachAsync(watchers, async (w, _) => await w.DisposeAsync());
    }
}
