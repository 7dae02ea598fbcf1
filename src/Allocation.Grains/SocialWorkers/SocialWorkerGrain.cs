using Allocation.Grains.Children;
using Allocation.Grains.Teams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Grains.SocialWorkers;

public sealed partial class SocialWorkerGrain(
    [PersistentState("worker", GrainStorage.Name)] IPersistentState<SocialWorkerState> state,
    IOptions<AllocationOptions> options,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    IHeldPlaces heldPlaces,
    ICommandReceipts storedReceipts,
    ILogger<SocialWorkerGrain> logger) : Grain, ISocialWorkerGrain, IRemindable
{
    private const string AbsenceReminder = "absence-start";

    /// <summary>How often a child whose allocation had an unknown outcome is asked again whether it is held here.</summary>
    private static readonly TimeSpan RecheckPeriod = TimeSpan.FromSeconds(2);

    /// <summary>Children held here whose own write had an unknown outcome (see <see cref="Recheck"/>), until each
    /// confirms or lets go.</summary>
    private readonly HashSet<string> _unconfirmed = new(StringComparer.Ordinal);

    /// <summary>The caseload: the places the children's stored rows hold with this worker, read on activation
    /// (<see cref="IHeldPlaces"/>), and the places reserved since. Not stored here: a reservation that no child
    /// recorded is gone with the activation, as it should be; one a child recorded is in the child's row.</summary>
    private readonly Dictionary<string, CaseEntry> _held = new(StringComparer.Ordinal);
    private IGrainTimer? _recheck;
    private TeamResync? _teams;
    private Receipts? _receipts;

    /// <summary>The team this worker moved from, until its board has been told to take the card off.</summary>
    private string? _removedFrom;
    private readonly AllocationOptions _options = options.Value;

    private string Id => this.GetPrimaryKeyString();

    private SocialWorkerState S => state.State;

    private int Ceiling => AllocationRules.Ceiling(S.Role, S.Fte, S.ExplicitCeiling, _options);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Places an earlier version stored in this row: the children's rows say which are held.
        S.LegacyCaseload = null;
        // A stored worker may have receipts stored by an earlier activation, until now at the latest; an earlier
        // version kept them in this row.
        Receipts.Loaded(state.RecordExists, S);
        if (!S.Exists)
        {
            return;
        }

        foreach (var place in await heldPlaces.ReadHeld(Id, cancellationToken))
        {
            _held[place.ChildId] = place;
        }

        if (S.PendingMove is { } move && _held.Count > 0)
        {
            // A move that did not finish (the process died part-way): carry on with it.
            Staffing.MoveInBackground(GrainFactory, Id, move, _held.Keys.ToList());
        }
    }

    public Task<WorkerView?> Get() => Task.FromResult(S.Exists ? View() : null);

    public async Task<WorkerResult> Upsert(UpsertWorker command)
    {
        if (command.Fte is <= 0m or > 1m)
        {
            return WorkerResult.Refused(Refusal.Invalid("fte", $"FTE must be above 0 and at most 1 (got {command.Fte})."));
        }

        if (command.Ceiling is < 0)
        {
            return WorkerResult.Refused(Refusal.Invalid("ceiling", "An explicit ceiling cannot be negative."));
        }

        var previousTeam = S.Exists ? S.TeamId : null;
        if (previousTeam is not null && previousTeam != command.TeamId && _held.Count > 0)
        {
            return WorkerResult.Refused(Refusal.Conflict(Rules.WorkerHasCaseload,
                $"Worker {Id} still holds {_held.Count} children in team {previousTeam}; move them before changing team.",
                new() { ["caseload"] = _held.Count }));
        }

        S.Exists = true;
        S.Name = command.Name;
        S.TeamId = command.TeamId;
        S.Role = command.Role;
        S.Fte = command.Fte;
        S.ExplicitCeiling = command.Ceiling;
        S.Agency = command.Agency;
        if (command.Supervisions is { } supervisions)
        {
            var since = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddYears(-1);
            S.Supervisions = supervisions.Where(d => d >= since).Distinct().Order().ToList();
        }

        await Write();
        if (previousTeam is not null && previousTeam != command.TeamId)
        {
            _removedFrom = previousTeam;
        }

        await PublishToTeam();
        return new WorkerResult(null, View(), []);
    }

    /// <summary>Reserves a place in memory: nothing is written here. The child's own write records the place, with
    /// the limit reserved under (<see cref="Reservation.Limit"/>), and the storage refuses that write if the worker's
    /// stored places already reach the limit.</summary>
    public Task<Reservation> Reserve(ReservePlace request)
    {
        var ceiling = Ceiling;
        if (_held.ContainsKey(request.ChildId))
        {
            return Task.FromResult(new Reservation(null, _held.Count, ceiling, _held.Count > ceiling));
        }

        if (!S.Exists)
        {
            return Task.FromResult(new Reservation(Refusal.NotFound($"Worker {Id} does not exist."), 0, 0, false));
        }

        if (!request.Import && CheckAvailable(request) is { } unavailable)
        {
            return Task.FromResult(new Reservation(unavailable, _held.Count, ceiling, false));
        }

        var current = _held.Count;
        var overCeiling = current + 1 > ceiling;
        if (!request.Import && AllocationRules.CheckCapacity(current, ceiling, request.Override, _options) is { } refusal)
        {
            return Task.FromResult(new Reservation(refusal, current, ceiling, false));
        }

        var recordedOverride = overCeiling ? request.Override : null;
        _held[request.ChildId] = new CaseEntry(request.ChildId, time.GetUtcNow(), request.RequestId, recordedOverride);
        if (recordedOverride is not null)
        {
            LogOverride(Id, request.ChildId, current + 1, ceiling, recordedOverride.By);
        }

        return Task.FromResult(new Reservation(null, _held.Count, ceiling, overCeiling));
    }

    public Task Recheck(string childId)
    {
        if (_held.ContainsKey(childId) && _unconfirmed.Add(childId))
        {
            _recheck ??= this.RegisterGrainTimer(AskUnconfirmed, new GrainTimerCreationOptions(RecheckPeriod, RecheckPeriod));
        }

        return Task.CompletedTask;
    }

    public Task Confirmed(string childId)
    {
        _unconfirmed.Remove(childId);
        return Task.CompletedTask;
    }

    public async Task ReleaseUnstored(string childId)
    {
        await Release(childId);
        foreach (var place in await heldPlaces.ReadHeld(Id))
        {
            _held.TryAdd(place.ChildId, place);
        }
    }

    /// <summary>Lets the place go, in memory: the child's row already says it is not held here (or never said so).
    /// Written only when that ends a move, which is kept until the caseload is empty.</summary>
    public async Task Release(string childId)
    {
        _unconfirmed.Remove(childId);
        if (_held.Remove(childId) && _held.Count == 0 && S.PendingMove is not null)
        {
            S.PendingMove = null;
            await Write();
        }
    }

    public async Task<WorkerResult> StartAbsence(StartAbsence command)
    {
        if (await ReplayOrRefuse(command.RequestId, "absence", command.By, command.ExpectedTeamId) is { } early)
        {
            return early;
        }

        if (command.MoveToWorkerId == Id)
        {
            return WorkerResult.Refused(Refusal.Invalid("move-to-self", "Children cannot be moved to the worker who is absent."));
        }

        if (command.To is { } to && to <= command.From)
        {
            return WorkerResult.Refused(Refusal.Invalid("absence-dates", "An absence must end after it starts."));
        }

        if (AllocationRules.CheckRecordCap("absences", S.Absences.Count, AllocationRules.MaxAbsences) is { } full)
        {
            return WorkerResult.Refused(full);
        }

        S.Absences.Add(new Absence(command.From, command.To, command.Reason));
        var receipt = Receipt(command.RequestId, "absence", command.By);
        var now = time.GetUtcNow();
        var started = command.From <= now;
        if (started && _held.Count > 0)
        {
            S.PendingMove = new CaseloadMove(command.RequestId, $"worker absent: {command.Reason}", command.MoveToWorkerId, command.By);
        }

        await Write(receipt);
        await PublishToTeam();
        if (!started)
        {
            // Children move when the absence starts, even if nobody is looking then.
            await this.RegisterOrUpdateReminder(AbsenceReminder, command.From - now, TimeSpan.FromHours(1));
        }

        return Moving();
    }

    public async Task<WorkerResult> Leave(LeaveService command)
    {
        if (await ReplayOrRefuse(command.RequestId, "leave", command.By, command.ExpectedTeamId) is { } early)
        {
            return early;
        }

        if (command.MoveToWorkerId == Id)
        {
            return WorkerResult.Refused(Refusal.Invalid("move-to-self", "Children cannot be moved to the worker who is leaving."));
        }

        S.HasLeft = true;
        S.LeftAt = time.GetUtcNow();
        var receipt = Receipt(command.RequestId, "leave", command.By);
        if (_held.Count > 0)
        {
            S.PendingMove = new CaseloadMove(command.RequestId, $"worker left: {command.Reason}", command.MoveToWorkerId, command.By);
        }

        await Write(receipt);
        await PublishToTeam();
        return Moving();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != AbsenceReminder)
        {
            return;
        }

        var now = time.GetUtcNow();
        var absence = AllocationRules.AbsenceAt(S.Absences, now);
        if (absence is not null && _held.Count > 0)
        {
            S.PendingMove ??= new CaseloadMove($"absence:{absence.From:O}", $"worker absent: {absence.Reason}", null, null);
            await Write();
            Staffing.MoveInBackground(GrainFactory, Id, S.PendingMove, _held.Keys.ToList());
        }

        if (!S.Absences.Any(a => a.From > now))
        {
            var reminder = await this.GetReminder(AbsenceReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }
        }
    }

    /// <summary>Asks each unconfirmed child again, one-way (the child calls back <see cref="Confirmed"/> or
    /// <see cref="Release"/>); a child that cannot answer yet (the database still down) is asked at the next tick.</summary>
    private Task AskUnconfirmed(CancellationToken cancellationToken)
    {
        _unconfirmed.RemoveWhere(childId => !_held.ContainsKey(childId));
        foreach (var childId in _unconfirmed)
        {
            _ = GrainFactory.GetGrain<IChildGrain>(childId).ConfirmAllocation(Id);
        }

        if (_unconfirmed.Count == 0)
        {
            _recheck?.Dispose();
            _recheck = null;
        }

        return Task.CompletedTask;
    }

    /// <summary>Every change is written through here: on a failed write the memory goes back to what is stored (and
    /// the board is told what that is: the change after all, or not).
    /// The write stores the receipt of the command it applies, if any (<see cref="Receipts"/>).</summary>
    private Task Write(CommandReceipt? receipt = null) =>
        Receipts.Write(S, receipt, () => state.WriteOrReloadAsync(forget: DeactivateOnIdle, readBack: Teams.TellAgain));

    /// <summary>Retries answered by request id (<see cref="Grains.Receipts"/>).</summary>
    private Receipts Receipts => _receipts ??= new Receipts(this.GetGrainId(), storedReceipts, time, _options);

    /// <summary>Tells the team boards what this worker holds (<see cref="TeamResync"/>).</summary>
    private TeamResync Teams => _teams ??= new TeamResync(this, SyncTeams, logger);

    /// <summary>The worker's summary to its team's board; the team it moved from, if not yet told, takes its card off.</summary>
    private async Task SyncTeams()
    {
        if (_removedFrom is { } left && left != S.TeamId)
        {
            await GrainFactory.GetGrain<ITeamGrain>(left).WorkerRemoved(Id);
        }

        _removedFrom = null;
        if (S.Exists)
        {
            await GrainFactory.GetGrain<ITeamGrain>(S.TeamId).WorkerChanged(S.Summary(Id, _options));
        }
    }

    /// <summary>The result of a leave or absence command: the worker now, and the children still to move.</summary>
    private WorkerResult Moving(bool replayed = false) =>
        new(null, View(), [], replayed, S.PendingMove, S.PendingMove is null ? [] : _held.Keys.ToList());

    private Refusal? CheckAvailable(ReservePlace request) =>
        AllocationRules.CheckAvailable(Id, S.TeamId, S.HasLeft, S.Absences, request.TeamId, time.GetUtcNow());

    private async ValueTask<WorkerResult?> ReplayOrRefuse(string requestId, string command, string? by, string? expectedTeamId)
    {
        if (!S.Exists)
        {
            return WorkerResult.Refused(Refusal.NotFound($"Worker {Id} does not exist."));
        }

        if (expectedTeamId is not null && expectedTeamId != S.TeamId)
        {
            // Not which team: the caller's access was checked against the old one.
            return WorkerResult.Refused(Refusal.Conflict(Rules.WorkerChanged,
                $"Worker {Id} changed team after your request was checked; read the worker again and decide afresh."));
        }

        if (await Receipts.Find(requestId) is not { } receipt)
        {
            return S.HasLeft
                ? WorkerResult.Refused(Refusal.Conflict(Rules.WorkerLeft, $"Worker {Id} has left the service."))
                : null;
        }

        if (receipt.IsRetryOf(command, by))
        {
            // A retry: the first attempt's summary may not have reached the board (its answer was lost with it).
            Teams.TellAgain();
            return Moving(replayed: true);
        }

        return WorkerResult.Refused(Refusal.Conflict(Rules.RequestIdReused, receipt.By == by
            ? $"Request id {requestId} was already used for a '{receipt.Command}' command on worker {Id}."
            : $"Request id {requestId} was already used on worker {Id}; use a new request id."));
    }

    private CommandReceipt Receipt(string requestId, string command, string? by) =>
        new(requestId, command, time.GetUtcNow(), Id, S.TeamId, 0, by);

    private Task PublishToTeam() => Teams.Tell(SyncTeams());

    private WorkerView View() => new(
        Id, S.Name, S.TeamId, S.Role, S.Fte, Ceiling, S.ExplicitCeiling, _held.Count,
        _held.Values.OrderBy(c => c.AllocatedAt).ToList(), S.Absences.ToList(),
        AllocationRules.AbsenceAt(S.Absences, time.GetUtcNow()), S.HasLeft,
        _held.Values.Count(c => c.Override is not null), S.Agency, S.Supervisions);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Worker {WorkerId} took child {ChildId} over the ceiling ({Caseload}/{Ceiling}) by override of {OverrideBy}")]
    private partial void LogOverride(string workerId, string childId, int caseload, int ceiling, string overrideBy);
}
