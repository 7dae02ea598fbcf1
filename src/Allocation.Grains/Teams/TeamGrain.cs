using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Grains.Teams;

public sealed partial class TeamGrain(
    [PersistentState("team", GrainStorage.Name)] IPersistentState<TeamState> state,
    IOptions<AllocationOptions> options,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    IBoardPublisher boards,
    ILogger<TeamGrain> logger) : Grain, ITeamGrain
{
    private const int FeedKept = 50;
    private const int BreachesKept = 500;
    public const string HeadOfService = "head-of-service";

    /// <summary>How long a built board is served again while nothing changes: clocks and waits move with time.</summary>
    public static readonly TimeSpan BoardFreshFor = TimeSpan.FromSeconds(1);

    private readonly AllocationOptions _options = options.Value;

    // The last board built, and whether a change is being stored now. Boards are read far more often than they change:
    // a board is built once per version (at most once a second, as clocks move), and a read that arrives while a change
    // is being stored interleaves with the write instead of queueing behind it. It gets the board as it was before the
    // change if that is under a second old, else one built with the change already in it (the team keeps a change in
    // memory even when its write fails); either way the client's next delta or snapshot puts it right.
    private TeamBoard? _board;
    private bool _storing;

    private string Id => this.GetPrimaryKeyString();

    private TeamState S => state.State;

    public async Task<TeamInfo> Upsert(string name)
    {
        S.Exists = true;
        S.Name = name;
        await Save(Change.None);
        return new TeamInfo(Id, name);
    }

    public async Task WorkerChanged(TeamWorkerSummary worker)
    {
        S.Workers[worker.WorkerId] = worker;
        await Save(new Change([worker.WorkerId], [], null, null));
    }

    public async Task WorkerRemoved(string workerId)
    {
        if (S.Workers.Remove(workerId))
        {
            await Save(new Change([workerId], [], null, null));
        }
    }

    public async Task ChildChanged(TeamChildSummary child, FeedItem? feed)
    {
        // Summaries can arrive out of order (a retry, a reconciliation): keep the newest the child sent.
        if (S.Children.TryGetValue(child.ChildId, out var known) && known.Version > child.Version)
        {
            return;
        }

        S.Children[child.ChildId] = child;
        AddFeed(feed);
        await Save(new Change(Touched(known?.WorkerId, child.WorkerId), [child.ChildId], feed, null));
    }

    public async Task ChildLeft(string childId, long childVersion, FeedItem? feed)
    {
        if (S.Children.TryGetValue(childId, out var known) && known.Version > childVersion)
        {
            return;
        }

        S.Children.Remove(childId, out var removed);
        AddFeed(feed);
        await Save(new Change(Touched(removed?.WorkerId, null), [childId], feed, null));
    }

    public async Task BreachRaised(BreachNotice breach)
    {
        if (S.Breaches.Exists(b => b.ChildId == breach.ChildId && b.Deadline == breach.Deadline))
        {
            return;
        }

        var escalatedTo = S.Workers.Values.Where(w => w.Role == WorkerRole.PracticeManager && !w.HasLeft)
            .Select(w => w.WorkerId).Append(HeadOfService).ToList();
        var escalated = new EscalatedBreach(breach.ChildId, breach.ClockStartedAt, breach.Deadline, breach.RecordedAt, escalatedTo);
        S.Breaches.Add(escalated);
        if (S.Breaches.Count > BreachesKept)
        {
            S.Breaches.RemoveRange(0, S.Breaches.Count - BreachesKept);
        }

        var feed = new FeedItem(breach.RecordedAt, "breach", breach.ChildId, null, null,
            $"{breach.ChildId} not allocated within {_options.AllocationWindow.TotalHours:0} hours; escalated to {string.Join(", ", escalatedTo)}");
        AddFeed(feed);
        await Save(new Change([], [breach.ChildId], feed, escalated));
        LogEscalated(Id, breach.ChildId, escalatedTo.Count);
    }

    public Task<TeamBoard> GetBoard()
    {
        var now = time.GetUtcNow();
        if (_board is { } board && now - board.At < BoardFreshFor && (board.Version == S.Version || _storing))
        {
            return Task.FromResult(board);
        }

        _board = BuildBoard(now);
        return Task.FromResult(_board);
    }

    private TeamBoard BuildBoard(DateTimeOffset now)
    {
        var byWorker = S.Children.Values.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!)
            .ToDictionary(g => g.Key, g => g.Select(c => c.ChildId).Order(StringComparer.Ordinal).ToList());
        var workers = S.Workers.Values.Where(w => !w.HasLeft).OrderBy(w => w.Name, StringComparer.Ordinal)
            .Select(w => Card(w, byWorker.GetValueOrDefault(w.WorkerId) ?? [], now)).ToList();
        var queue = S.Children.Values.Where(c => c.WorkerId is null).OrderBy(c => c.Deadline).Select(c => Queued(c, now)).ToList();
        return new TeamBoard(Id, S.Name, S.Version, now, workers, queue,
            S.Feed.AsEnumerable().Reverse().ToList(), S.Breaches.TakeLast(20).Reverse().ToList(), Pressure(now),
            _options.AmberThreshold.TotalSeconds);
    }

    public Task<TeamPressure> GetPressure() => Task.FromResult(Pressure(time.GetUtcNow()));

    public Task<WorkerBoard?> GetWorkerBoard(string workerId) => Task.FromResult(WorkerBoard(workerId, time.GetUtcNow()));

    public async Task SetEstablishment(decimal? establishmentFte)
    {
        S.EstablishmentFte = establishmentFte;
        await Save(Change.None);
    }

    public Task<Kpis.TeamMeasures> GetMeasures(DateTimeOffset at) => Task.FromResult(Kpis.ThresholdChecks.Measure(
        new Kpis.TeamSnapshot(S.EstablishmentFte, S.Workers.Values, S.Children.Values, S.Breaches), at, _options));

    public Task<TeamRoster> GetRoster() => Task.FromResult(new TeamRoster(Id, S.Name, S.Workers.Values.ToList(), S.Children.Values.ToList()));

    private WorkerBoard? WorkerBoard(string workerId, DateTimeOffset now)
    {
        if (!S.Workers.TryGetValue(workerId, out var w))
        {
            return null;
        }

        var children = S.Children.Values.Where(c => c.WorkerId == workerId && c.AllocatedAt is not null).OrderBy(c => c.AllocatedAt).Select(c =>
        {
            var distinct = AllocationRules.DistinctWorkers(c.RecentPeriods, now, _options.WorkerChangeWindow);
            return new WorkerBoardChild(c.ChildId, c.AllocatedAt!.Value, c.WorkerChanges, distinct, AllocationRules.IsFlagged(distinct, _options),
                c.RecentPeriods.Count > 0 && c.RecentPeriods[^1].Override is not null);
        }).ToList();
        return new WorkerBoard(w.WorkerId, w.Name, Id, S.Name, w.Role, w.Fte, w.Ceiling, children.Count, AllocationRules.AbsenceAt(w.Absences, now),
            w.HasLeft, S.WorkerBoardVersions.GetValueOrDefault(workerId), children);
    }

    private WorkerCard Card(TeamWorkerSummary w, IReadOnlyList<string> children, DateTimeOffset now) =>
        new(w.WorkerId, w.Name, w.Role, w.Fte, children.Count, w.Ceiling, Capacity(children.Count, w.Ceiling),
            AllocationRules.AbsenceAt(w.Absences, now), w.OverridesInForce, children);

    private QueueItem Queued(TeamChildSummary c, DateTimeOffset now)
    {
        var distinct = AllocationRules.DistinctWorkers(c.RecentPeriods, now, _options.WorkerChangeWindow);
        return new QueueItem(c.ChildId, c.ClockStartedAt, c.Deadline, c.ClockReason,
            AllocationRules.Clock(c.Deadline, now, _options.AmberThreshold), (c.Deadline - now).TotalSeconds,
            distinct, AllocationRules.IsFlagged(distinct, _options));
    }

    private static IReadOnlyList<string> Touched(string? before, string? after) =>
        before == after ? (after is null ? [] : [after]) : new[] { before, after }.OfType<string>().ToList();

    private TeamPressure Pressure(DateTimeOffset now)
    {
        var counts = S.Children.Values.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!).ToDictionary(g => g.Key, g => g.Count());
        // Workers who carry cases: managers on a ceiling of zero and leavers are not part of the caseload KPI.
        var caseholders = S.Workers.Values.Where(w => !w.HasLeft && (w.Ceiling > 0 || counts.ContainsKey(w.WorkerId))).ToList();
        var atOrUnder = caseholders.Count(w => counts.GetValueOrDefault(w.WorkerId) <= w.Ceiling);
        var waiting = S.Children.Values.Where(c => c.WorkerId is null).ToList();
        var longest = waiting.Count == 0 ? 0 : waiting.Max(c => (now - c.ClockStartedAt).TotalSeconds);
        var flagged = S.Children.Values.Count(c => AllocationRules.IsFlagged(
            AllocationRules.DistinctWorkers(c.RecentPeriods, now, _options.WorkerChangeWindow), _options));
        return new TeamPressure(Id, S.Name, S.Version, caseholders.Count, atOrUnder,
            caseholders.Count == 0 ? 100m : Math.Round(100m * atOrUnder / caseholders.Count, 1),
            S.Children.Count, S.Children.Count - waiting.Count, waiting.Count, longest,
            waiting.Count(c => now >= c.Deadline), S.Breaches.Count(b => b.RecordedAt > now.AddHours(-24)), flagged,
            S.Workers.Values.Where(w => !w.HasLeft).Sum(w => w.OverridesInForce),
            now, _options.AllocationWindow.TotalSeconds, _options.AmberThreshold.TotalSeconds);
    }

    private static CapacityStatus Capacity(int caseload, int ceiling) =>
        ceiling == 0 && caseload == 0 ? CapacityStatus.None
        : caseload > ceiling ? CapacityStatus.Over
        : caseload == ceiling ? CapacityStatus.Full
        : caseload >= ceiling - 2 ? CapacityStatus.Near
        : CapacityStatus.Room;

    private void AddFeed(FeedItem? feed)
    {
        if (feed is null)
        {
            return;
        }

        S.Feed.Add(feed);
        if (S.Feed.Count > FeedKept)
        {
            S.Feed.RemoveRange(0, S.Feed.Count - FeedKept);
        }
    }

    /// <summary>What a change touched, to build the delta the boards receive.</summary>
    private sealed record Change(IReadOnlyList<string> Workers, IReadOnlyList<string> Children, FeedItem? Feed, EscalatedBreach? Breach)
    {
        public static readonly Change None = new([], [], null, null);
    }

    private async Task Save(Change change)
    {
        var now = time.GetUtcNow();
        S.Version++;
        foreach (var workerId in change.Workers)
        {
            // Starts from the clock, not from zero, so a worker who moves team never goes back to an older version.
            S.WorkerBoardVersions[workerId] = S.WorkerBoardVersions.TryGetValue(workerId, out var v) ? v + 1 : now.ToUnixTimeMilliseconds();
        }

        _storing = true;
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            _storing = false;
        }

        var pressure = Pressure(now);
        // The overview is a cache in the authority grain; a lost update is replaced by the next one.
        _ = GrainFactory.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).PressureChanged(pressure);
        await boards.Publish(Delta(change, pressure, now));
        foreach (var workerId in change.Workers)
        {
            if (WorkerBoard(workerId, now) is { } board)
            {
                await boards.Publish(new WorkerBoardDelta(workerId, board.Version, board));
            }
        }
    }

    private TeamBoardDelta Delta(Change change, TeamPressure pressure, DateTimeOffset now)
    {
        var cards = new List<WorkerCard>();
        var removedWorkers = new List<string>();
        foreach (var workerId in change.Workers)
        {
            if (S.Workers.TryGetValue(workerId, out var w) && !w.HasLeft)
            {
                cards.Add(Card(w, S.Children.Values.Where(c => c.WorkerId == workerId).Select(c => c.ChildId).Order(StringComparer.Ordinal).ToList(), now));
            }
            else
            {
                removedWorkers.Add(workerId);
            }
        }

        var queued = new List<QueueItem>();
        var dequeued = new List<string>();
        foreach (var childId in change.Children)
        {
            if (S.Children.TryGetValue(childId, out var c) && c.WorkerId is null)
            {
                queued.Add(Queued(c, now));
            }
            else
            {
                dequeued.Add(childId);
            }
        }

        return new TeamBoardDelta(Id, S.Version, cards, removedWorkers, queued, dequeued,
            change.Feed is null ? [] : [change.Feed], change.Breach is null ? [] : [change.Breach], pressure);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Team {TeamId}: breach for child {ChildId} escalated to {Count} recipients")]
    private partial void LogEscalated(string teamId, string childId, int count);
}
