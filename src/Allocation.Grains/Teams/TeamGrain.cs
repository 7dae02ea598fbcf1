using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Allocation.Grains.Children;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Grains.Teams;

/// <summary>
/// A team: its name, establishment and escalated breaches (stored), its board (a <see cref="TeamProjection"/> rebuilt
/// from its children's and workers' facts on activation and kept current by their summaries, never stored), and the
/// watch on its children's 24-hour clocks: a timer at the queue's next deadline while active, and one durable reminder
/// per team that wakes it after a restart or a deactivation. The deadline itself is in each child's state; the child
/// decides and records the breach.
/// </summary>
public sealed partial class TeamGrain(
    [PersistentState("team", GrainStorage.Name)] IPersistentState<TeamState> state,
    IOptions<AllocationOptions> options,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    IBoardPublisher boards,
    ITeamFacts facts,
    Kpis.IClosedCases closedCases,
    ILogger<TeamGrain> logger) : Grain, ITeamGrain, IRemindable
{
    private const int BreachesKept = 500;
    private const string ClockReminder = "allocation-clocks";
    public const string HeadOfService = "head-of-service";

    /// <summary>How long a built board is served again while nothing changes: clocks and waits move with time.</summary>
    public static readonly TimeSpan BoardFreshFor = TimeSpan.FromSeconds(1);

    private readonly AllocationOptions _options = options.Value;

    // Children asked to check their clock, with the deadline they were asked about: not asked again by the timer
    // until their summary changes (the reminder asks again, in case an answer was lost).
    private readonly Dictionary<string, DateTimeOffset> _asked = new(StringComparer.Ordinal);
    private TeamProjection _projection = null!;
    private TeamBoard? _board;
    private IGrainTimer? _clockTimer;
    private DateTimeOffset? _clockTimerDue;

    private string Id => this.GetPrimaryKeyString();

    private TeamState S => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _projection = TeamProjection.Build(Id, await facts.Read(Id, cancellationToken), time.GetUtcNow(), _options);
        if (S.Exists && !S.ClocksWatched)
        {
            await WatchClocks();
            await state.WriteStateAsync(cancellationToken);
        }

        // A deadline that passed while the team was not active (a restart) is checked now.
        CheckDueClocks(askAgain: true);
    }

    public async Task<TeamInfo> Upsert(string name)
    {
        S.Exists = true;
        S.Name = name;
        if (!S.ClocksWatched)
        {
            await WatchClocks();
        }

        await state.WriteStateAsync();
        await Publish(TeamProjection.Change.None);
        return new TeamInfo(Id, name);
    }

    public Task WorkerChanged(TeamWorkerSummary worker) => Publish(_projection.WorkerChanged(worker));

    public Task WorkerRemoved(string workerId) => Publish(_projection.WorkerRemoved(workerId));

    public Task ChildChanged(TeamChildSummary child, FeedItem? feed) => PublishQueueChange(_projection.ChildChanged(child, feed));

    public Task ChildSeen(TeamChildSummary child) => PublishQueueChange(_projection.ChildSeen(child));

    public Task ChildGone(string childId, long childVersion) => Publish(_projection.ChildGone(childId, childVersion));

    public Task ChildLeft(string childId, long childVersion, FeedItem? feed) => Publish(_projection.ChildLeft(childId, childVersion, feed));

    /// <summary>A child's summary may change the queue's next deadline: the clock timer is set again before publishing.</summary>
    private Task PublishQueueChange(TeamProjection.Change? change)
    {
        if (change is not null)
        {
            ArmClockTimer(change.Children.Select(_projection.WaitingChild).OfType<TeamChildSummary>());
        }

        return Publish(change);
    }

    public async Task BreachRaised(BreachNotice breach)
    {
        if (S.Breaches.Exists(b => b.ChildId == breach.ChildId && b.Deadline == breach.Deadline))
        {
            return;
        }

        var escalatedTo = _projection.PracticeManagers().Append(HeadOfService).ToList();
        var escalated = new EscalatedBreach(breach.ChildId, breach.ClockStartedAt, breach.Deadline, breach.RecordedAt, escalatedTo);
        S.Breaches.Add(escalated);
        if (S.Breaches.Count > BreachesKept)
        {
            S.Breaches.RemoveRange(0, S.Breaches.Count - BreachesKept);
        }

        await state.WriteStateAsync();
        var feed = new FeedItem(breach.RecordedAt, "breach", breach.ChildId, null, null,
            $"{breach.ChildId} not allocated within {_options.AllocationWindow.TotalHours:0} hours; escalated to {string.Join(", ", escalatedTo)}");
        await Publish(_projection.BreachEscalated(escalated, feed));
        LogEscalated(Id, breach.ChildId, escalatedTo.Count);
    }

    public Task<TeamBoard> GetBoard()
    {
        var now = time.GetUtcNow();
        if (_board is not { } board || board.Version != _projection.Version || now - board.At >= BoardFreshFor)
        {
            _board = board = _projection.Board(S.Name, S.Breaches, now);
        }

        return Task.FromResult(board);
    }

    public Task<TeamPressure> GetPressure() => Task.FromResult(_projection.Pressure(S.Name, S.Breaches, time.GetUtcNow()));

    public Task<WorkerBoard?> GetWorkerBoard(string workerId) => Task.FromResult(_projection.WorkerBoard(workerId, S.Name, time.GetUtcNow()));

    public async Task SetEstablishment(decimal? establishmentFte)
    {
        S.EstablishmentFte = establishmentFte;
        await state.WriteStateAsync();
        await Publish(TeamProjection.Change.None);
    }

    public Task<TeamRoster> GetRoster() =>
        Task.FromResult(new TeamRoster(Id, S.Name, _projection.Workers.ToList(), _projection.Children.ToList()));

    public async Task<Kpis.TeamMeasures> GetMeasures(DateTimeOffset at)
    {
        var closed = await closedCases.ReadClosed(Id, at - Kpis.IClosedCases.Kept);
        return Kpis.ThresholdChecks.Measure(new Kpis.TeamSnapshot(S.EstablishmentFte, _projection.Workers, _projection.Children, S.Breaches, closed), at, _options);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ClockReminder)
        {
            CheckDueClocks(askAgain: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>One durable reminder per team, for as long as the team exists: it wakes the team (and so rebuilds its
    /// board and checks its clocks) after a restart, with nobody looking. The exact deadlines are kept by a timer.</summary>
    private async Task WatchClocks()
    {
        await this.RegisterOrUpdateReminder(ClockReminder, _options.ClockCheckPeriod, _options.ClockCheckPeriod);
        S.ClocksWatched = true;
    }

    /// <summary>Asks each waiting child whose deadline has passed, and whose breach the team has not escalated, to check
    /// its clock (one-way: the child records the breach, or finds it recorded, and tells the team), then sets the timer
    /// for the next deadline. A breach the child stored but the team never heard of is so escalated at the latest on
    /// the team's next activation or reminder.</summary>
    private void CheckDueClocks(bool askAgain)
    {
        var now = time.GetUtcNow();
        var due = _projection.Overdue(now).ToList();
        if (due.Count > 0)
        {
            var escalated = S.Breaches.Select(b => (b.ChildId, b.Deadline)).ToHashSet();
            // Escalations beyond the newest BreachesKept are no longer listed: a breach older than every one listed was
            // escalated then, and is not raised again.
            var forgottenBefore = S.Breaches.Count >= BreachesKept ? S.Breaches.Min(b => b.Deadline) : DateTimeOffset.MinValue;
            foreach (var child in due)
            {
                if (escalated.Contains((child.ChildId, child.Deadline)) || (child.Breached && child.Deadline < forgottenBefore))
                {
                    continue;
                }

                if (askAgain || !_asked.TryGetValue(child.ChildId, out var asked) || asked != child.Deadline)
                {
                    _asked[child.ChildId] = child.Deadline;
                    _ = GrainFactory.GetGrain<IChildGrain>(child.ChildId).CheckClockInBackground();
                }
            }
        }

        _clockTimerDue = null;
        ArmClockTimer(_projection.Waiting);
    }

    /// <summary>The timer fires at the earliest deadline not yet asked about; it is moved only when that comes sooner
    /// (new children's deadlines come later, so most changes leave it alone; one that fires early re-arms itself).
    /// After the walk over the whole queue (on activation, and each time it fires) every deadline not yet asked about
    /// is at or after the armed one; only a change to a child can bring one sooner, so a change looks at its own
    /// children only, not the queue.</summary>
    private void ArmClockTimer(IEnumerable<TeamChildSummary> waiting)
    {
        DateTimeOffset? next = null;
        foreach (var child in waiting)
        {
            if ((!_asked.TryGetValue(child.ChildId, out var asked) || asked != child.Deadline) && (next is null || child.Deadline < next))
            {
                next = child.Deadline;
            }
        }

        if (next is not { } due || (_clockTimerDue is { } armed && armed <= due))
        {
            return;
        }

        var wait = due - time.GetUtcNow();
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        _clockTimer ??= this.RegisterGrainTimer(_ => { CheckDueClocks(askAgain: false); return Task.CompletedTask; },
            Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _clockTimer.Change(wait, Timeout.InfiniteTimeSpan);
        _clockTimerDue = due;
    }

    private async Task Publish(TeamProjection.Change? change)
    {
        if (change is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        _projection.Advance(change, now);
        var pressure = _projection.Pressure(S.Name, S.Breaches, now);
        // The overview is a projection in the authority grain; a lost update is replaced by the next one.
        _ = GrainFactory.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).PressureChanged(pressure);
        await boards.Publish(_projection.Delta(change, pressure, now));
        foreach (var workerId in change.Workers)
        {
            if (_projection.WorkerBoard(workerId, S.Name, now) is { } board)
            {
                await boards.Publish(new WorkerBoardDelta(workerId, board.Version, board));
            }
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Team {TeamId}: breach for child {ChildId} escalated to {Count} recipients")]
    private partial void LogEscalated(string teamId, string childId, int count);
}
