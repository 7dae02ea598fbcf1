using Allocation.Grains.Boards;

namespace Allocation.Grains.Teams;

/// <summary>
/// A team's board, pressure and worker boards, built in memory from its children's and workers' own facts and kept
/// current by the summaries they send after each change. Nothing here is stored: on activation it is rebuilt from
/// <see cref="ITeamFacts"/>. Versions start from the clock in microseconds, so a board rebuilt after a restart never
/// goes back to a version a client has already seen (unless the team made a million changes a second).
/// </summary>
public sealed class TeamProjection(string teamId, AllocationOptions options)
{
    private const int FeedKept = 50;

    private readonly Dictionary<string, TeamWorkerSummary> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TeamChildSummary> _children = new(StringComparer.Ordinal);
    /// <summary>The children allocated to each worker, kept with <see cref="_children"/> so a change costs the size of
    /// the caseloads it touches, not of the team.</summary>
    private readonly Dictionary<string, SortedSet<string>> _byWorker = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _workerBoardVersions = new(StringComparer.Ordinal);
    /// <summary>The children waiting for a worker (the queue), kept with <see cref="_children"/>: the pressure and the
    /// clocks a change recomputes walk the queue, not the team.</summary>
    private readonly Dictionary<string, TeamChildSummary> _waiting = new(StringComparer.Ordinal);
    /// <summary>The children with more allocation periods in their recent history than the worker-change threshold:
    /// only they can have had more distinct workers than it, so only they are counted afresh for the pressure.</summary>
    private readonly Dictionary<string, TeamChildSummary> _mayBeFlagged = new(StringComparer.Ordinal);
    /// <summary>How many of each worker's children hold their place by an override above the ceiling, kept with
    /// <see cref="_byWorker"/>.</summary>
    private readonly Dictionary<string, int> _overrides = new(StringComparer.Ordinal);
    private readonly List<FeedItem> _feed = [];

    public long Version { get; private set; }

    /// <summary>The workers, each with the overrides above the ceiling in force among the places its children hold.</summary>
    public IReadOnlyCollection<TeamWorkerSummary> Workers => _workers.Values.Select(w => w with { OverridesInForce = OverridesOf(w.WorkerId) }).ToList();

    public IReadOnlyCollection<TeamChildSummary> Children => _children.Values;

    public static TeamProjection Build(string teamId, TeamFacts facts, DateTimeOffset now, AllocationOptions options)
    {
        var projection = new TeamProjection(teamId, options) { Version = FromClock(now) };
        foreach (var (workerId, worker) in facts.Workers)
        {
            projection._workers[workerId] = worker.Summary(workerId, options);
        }

        foreach (var (childId, child) in facts.Children)
        {
            projection.Put(child.Summary(childId, now, options));
        }

        return projection;
    }

    /// <summary>The children waiting for a worker whose clock has not yet been recorded as breached.</summary>
    public IEnumerable<TeamChildSummary> Waiting => _waiting.Values.Where(c => !c.Breached);

    /// <summary>The child, if it is one of <see cref="Waiting"/>.</summary>
    public TeamChildSummary? WaitingChild(string childId) => _waiting.TryGetValue(childId, out var c) && !c.Breached ? c : null;

    /// <summary>The children waiting for a worker whose deadline has passed, breach recorded or not.</summary>
    public IEnumerable<TeamChildSummary> Overdue(DateTimeOffset now) => _waiting.Values.Where(c => c.Deadline <= now);

    public Change WorkerChanged(TeamWorkerSummary worker)
    {
        _workers[worker.WorkerId] = worker;
        return new Change([worker.WorkerId], [], null, null);
    }

    public Change? WorkerRemoved(string workerId) =>
        _workers.Remove(workerId) ? new Change([workerId], [], null, null) : null;

    /// <summary>Summaries can arrive out of order (a retry, a reconciliation): the newest the child sent is kept.</summary>
    public Change? ChildChanged(TeamChildSummary child, FeedItem? feed)
    {
        if (_children.TryGetValue(child.ChildId, out var known) && known.Version > child.Version)
        {
            return null;
        }

        Put(child);
        AddFeed(feed);
        return new Change(Touched(known?.WorkerId, child.WorkerId), [child.ChildId], feed, null);
    }

    /// <summary>A child's summary from its activation: a change only if the board held an older one, or none.</summary>
    public Change? ChildSeen(TeamChildSummary child) =>
        _children.TryGetValue(child.ChildId, out var known) && known.Version >= child.Version ? null : ChildChanged(child, null);

    /// <summary>A child's word from its activation that it has left: a change only if the board still held it, older.</summary>
    public Change? ChildGone(string childId, long childVersion) =>
        _children.TryGetValue(childId, out var known) && known.Version < childVersion ? ChildLeft(childId, childVersion, null) : null;

    public Change? ChildLeft(string childId, long childVersion, FeedItem? feed)
    {
        if (_children.TryGetValue(childId, out var known) && known.Version > childVersion)
        {
            return null;
        }

        if (_children.Remove(childId, out var removed))
        {
            Unassign(removed);
            _waiting.Remove(childId);
            _mayBeFlagged.Remove(childId);
        }

        AddFeed(feed);
        return new Change(Touched(removed?.WorkerId, null), [childId], feed, null);
    }

    public Change BreachEscalated(EscalatedBreach breach, FeedItem feed)
    {
        AddFeed(feed);
        return new Change([], [breach.ChildId], feed, breach);
    }

    /// <summary>Moves the versions on for a change; the board's and each touched worker's board.</summary>
    public void Advance(Change change, DateTimeOffset now)
    {
        Version++;
        foreach (var workerId in change.Workers)
        {
            // Starts from the clock, not from zero, so a worker who moves team never goes back to an older version.
            _workerBoardVersions[workerId] = _workerBoardVersions.TryGetValue(workerId, out var v) ? v + 1 : FromClock(now);
        }
    }

    public IReadOnlyList<string> PracticeManagers() =>
        _workers.Values.Where(w => w.Role == WorkerRole.PracticeManager && !w.HasLeft).Select(w => w.WorkerId).ToList();

    public TeamBoard Board(string name, IReadOnlyList<EscalatedBreach> breaches, DateTimeOffset now)
    {
        var workers = _workers.Values.Where(w => !w.HasLeft).OrderBy(w => w.Name, StringComparer.Ordinal)
            .Select(w => Card(w, CaseloadOf(w.WorkerId), now)).ToList();
        var queue = _waiting.Values.OrderBy(c => c.Deadline).ThenBy(c => c.ChildId, StringComparer.Ordinal).Select(c => Queued(c, now)).ToList();
        return new TeamBoard(teamId, name, Version, now, workers, queue,
            _feed.AsEnumerable().Reverse().ToList(), breaches.TakeLast(20).Reverse().ToList(), Pressure(name, breaches, now),
            options.AmberThreshold.TotalSeconds);
    }

    public TeamPressure Pressure(string name, IReadOnlyList<EscalatedBreach> breaches, DateTimeOffset now)
    {
        // Workers who carry cases: managers on a ceiling of zero and leavers are not part of the caseload KPI.
        int caseholders = 0, atOrUnder = 0, overrides = 0;
        foreach (var w in _workers.Values)
        {
            if (w.HasLeft)
            {
                continue;
            }

            overrides += OverridesOf(w.WorkerId);
            var caseload = _byWorker.TryGetValue(w.WorkerId, out var held) ? held.Count : 0;
            if (w.Ceiling > 0 || caseload > 0)
            {
                caseholders++;
                atOrUnder += caseload <= w.Ceiling ? 1 : 0;
            }
        }

        // This runs on every change: it walks the queue and the children who could be flagged, not the whole team.
        int waiting = _waiting.Count, overdue = 0, flagged = 0;
        var longest = double.MinValue;
        foreach (var c in _waiting.Values)
        {
            longest = Math.Max(longest, (now - c.ClockStartedAt).TotalSeconds);
            overdue += now >= c.Deadline ? 1 : 0;
        }

        foreach (var c in _mayBeFlagged.Values)
        {
            flagged += AllocationRules.IsFlagged(AllocationRules.DistinctWorkers(c.RecentPeriods, now, options.WorkerChangeWindow), options) ? 1 : 0;
        }

        var recentBreaches = 0;
        foreach (var b in breaches)
        {
            recentBreaches += b.RecordedAt > now.AddHours(-24) ? 1 : 0;
        }

        return new TeamPressure(teamId, name, Version, caseholders, atOrUnder,
            caseholders == 0 ? 100m : Math.Round(100m * atOrUnder / caseholders, 1),
            _children.Count, _children.Count - waiting, waiting, waiting == 0 ? 0 : longest,
            overdue, recentBreaches, flagged, overrides,
            now, options.AllocationWindow.TotalSeconds, options.AmberThreshold.TotalSeconds);
    }

    public WorkerBoard? WorkerBoard(string workerId, string name, DateTimeOffset now)
    {
        if (!_workers.TryGetValue(workerId, out var w))
        {
            return null;
        }

        var children = CaseloadOf(workerId).Select(id => _children[id]).Where(c => c.AllocatedAt is not null).OrderBy(c => c.AllocatedAt).Select(c =>
        {
            var distinct = AllocationRules.DistinctWorkers(c.RecentPeriods, now, options.WorkerChangeWindow);
            return new WorkerBoardChild(c.ChildId, c.AllocatedAt!.Value, c.WorkerChanges, distinct, AllocationRules.IsFlagged(distinct, options),
                c.RecentPeriods.Count > 0 && c.RecentPeriods[^1].Override is not null);
        }).ToList();
        return new WorkerBoard(w.WorkerId, w.Name, teamId, name, w.Role, w.Fte, w.Ceiling, children.Count, AllocationRules.AbsenceAt(w.Absences, now),
            w.HasLeft, _workerBoardVersions.GetValueOrDefault(workerId), children);
    }

    /// <summary>The change as the boards receive it: the touched cards and queue entries, the feed item, the breach.</summary>
    public TeamBoardDelta Delta(Change change, TeamPressure pressure, DateTimeOffset now)
    {
        var cards = new List<WorkerCard>();
        var removedWorkers = new List<string>();
        foreach (var workerId in change.Workers)
        {
            if (_workers.TryGetValue(workerId, out var w) && !w.HasLeft)
            {
                cards.Add(Card(w, CaseloadOf(workerId), now));
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
            if (_children.TryGetValue(childId, out var c) && c.WorkerId is null)
            {
                queued.Add(Queued(c, now));
            }
            else
            {
                dequeued.Add(childId);
            }
        }

        return new TeamBoardDelta(teamId, Version, cards, removedWorkers, queued, dequeued,
            change.Feed is null ? [] : [change.Feed], change.Breach is null ? [] : [change.Breach], pressure);
    }

    private WorkerCard Card(TeamWorkerSummary w, IReadOnlyList<string> children, DateTimeOffset now) =>
        new(w.WorkerId, w.Name, w.Role, w.Fte, children.Count, w.Ceiling, Capacity(children.Count, w.Ceiling),
            AllocationRules.AbsenceAt(w.Absences, now), OverridesOf(w.WorkerId), children);

    private QueueItem Queued(TeamChildSummary c, DateTimeOffset now)
    {
        var distinct = AllocationRules.DistinctWorkers(c.RecentPeriods, now, options.WorkerChangeWindow);
        return new QueueItem(c.ChildId, c.ClockStartedAt, c.Deadline, c.ClockReason,
            AllocationRules.Clock(c.Deadline, now, options.AmberThreshold), (c.Deadline - now).TotalSeconds,
            distinct, AllocationRules.IsFlagged(distinct, options), c.CaseRecord?.Plan);
    }

    /// <summary>How many of the worker's children it took above its ceiling, by override: each child's current period
    /// records the override it was allocated under (the worker does not store its places).</summary>
    private int OverridesOf(string workerId) => _overrides.GetValueOrDefault(workerId);

    /// <summary>Whether the child holds its place with its worker by an override above the ceiling.</summary>
    private static bool HeldByOverride(TeamChildSummary child) =>
        child.WorkerId is { } workerId && AllocationRules.CurrentPeriodWith(child.RecentPeriods, workerId)?.Override is not null;

    /// <summary>The worker's children, in id order.</summary>
    private IReadOnlyList<string> CaseloadOf(string workerId) =>
        _byWorker.TryGetValue(workerId, out var held) ? [.. held] : [];

    private void Put(TeamChildSummary child)
    {
        if (_children.TryGetValue(child.ChildId, out var known))
        {
            Unassign(known);
        }

        _children[child.ChildId] = child;
        Index(_waiting, child, child.WorkerId is null);
        // Distinct workers never outnumber the periods they are counted from.
        Index(_mayBeFlagged, child, child.RecentPeriods.Count > options.WorkerChangeFlagThreshold);
        if (child.WorkerId is { } workerId)
        {
            if (!_byWorker.TryGetValue(workerId, out var held))
            {
                _byWorker[workerId] = held = new SortedSet<string>(StringComparer.Ordinal);
            }

            held.Add(child.ChildId);
            if (HeldByOverride(child))
            {
                _overrides[workerId] = OverridesOf(workerId) + 1;
            }
        }
    }

    private static void Index(Dictionary<string, TeamChildSummary> index, TeamChildSummary child, bool belongs)
    {
        if (belongs)
        {
            index[child.ChildId] = child;
        }
        else
        {
            index.Remove(child.ChildId);
        }
    }

    private void Unassign(TeamChildSummary child)
    {
        if (child.WorkerId is not { } workerId || !_byWorker.TryGetValue(workerId, out var held) || !held.Remove(child.ChildId))
        {
            return;
        }

        if (held.Count == 0)
        {
            _byWorker.Remove(workerId);
        }

        if (HeldByOverride(child) && OverridesOf(workerId) is var overrides and > 0)
        {
            if (overrides == 1)
            {
                _overrides.Remove(workerId);
            }
            else
            {
                _overrides[workerId] = overrides - 1;
            }
        }
    }

    private static long FromClock(DateTimeOffset now) => (now - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    private static IReadOnlyList<string> Touched(string? before, string? after) =>
        before == after ? (after is null ? [] : [after]) : new[] { before, after }.OfType<string>().ToList();

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

        _feed.Add(feed);
        if (_feed.Count > FeedKept)
        {
            _feed.RemoveRange(0, _feed.Count - FeedKept);
        }
    }

    /// <summary>What a change touched, to build the delta the boards receive.</summary>
    public sealed record Change(IReadOnlyList<string> Workers, IReadOnlyList<string> Children, FeedItem? Feed, EscalatedBreach? Breach)
    {
        public static readonly Change None = new([], [], null, null);
    }
}
