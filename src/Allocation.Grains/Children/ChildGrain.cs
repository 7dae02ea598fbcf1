using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Grains.Children;

/// <summary>
/// Allocation protocol (one child, one or two workers):
/// 1. the new worker reserves a place, in its memory, under its ceiling (refusals end here);
/// 2. the child records the allocation: its one durable write, which carries the worker's id and the limit the place
///    was reserved under, and which the storage refuses if the worker's other stored places already reach it;
/// 3. the previous worker, if any, lets go (in memory: the child's row no longer holds it).
/// A crash after 1 loses only the reservation, with the worker's memory: no child recorded it. A crash after 2 leaves
/// the child's row as the one record of the place, which the worker reads when it next activates.
/// A write in 2 whose outcome is unknown (the database failed mid-write and could not be read back) leaves the place
/// reserved and the worker asking the child, read afresh, until it confirms or lets go (<see cref="StoredFacts"/>).
/// </summary>
public sealed partial class ChildGrain(
    [PersistentState("child", GrainStorage.Name)] IPersistentState<ChildState> state,
    IOptions<AllocationOptions> options,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    ICommandReceipts storedReceipts,
    ILogger<ChildGrain> logger) : Grain, IChildGrain, IRemindable
{
    /// <summary>Each child had a reminder of its own before the teams watched the clocks; one still registered
    /// checks the clock once more when it fires, and removes itself.</summary>
    private const string FormerDeadlineReminder = "allocation-deadline";

    private readonly AllocationOptions _options = options.Value;

    /// <summary>Retries answered by request id (<see cref="Grains.Receipts"/>).</summary>
    private Receipts? _receipts;

    private string Id => this.GetPrimaryKeyString();

    private ChildState S => state.State;

    /// <summary>A write failed and the stored state could not be read back: this activation's memory may say what is
    /// not stored, so it is going (see <see cref="StoredFacts"/>).</summary>
    private bool _outcomeUnknown;

    private TeamResync? _teams;

    /// <summary>The audit entry drafted for the command being applied, and the child as the command found it (see
    /// <see cref="Checked"/>); whether its write stored the entry.</summary>
    private (AuditDraft Draft, ChildExpectation? Before)? _audit;

    private bool _audited;

    /// <summary>Tells the team boards what this child holds (<see cref="TeamResync"/>).</summary>
    private TeamResync Teams => _teams ??= new TeamResync(this, SyncTeams, logger);

    private Receipts Receipts => _receipts ??= new Receipts(this.GetGrainId(), storedReceipts, time, _options);

    /// <summary>Every change is written through here: on a failed write the memory goes back to what is stored. Read
    /// back, the change was stored after all (its answer was lost) or is gone; the command fails either way, but its
    /// caller may never retry it, so the boards are told what is stored now.
    /// The write stores the receipt of the command it applies, if any (<see cref="Receipts"/>).</summary>
    private Task Write(CommandReceipt? receipt = null) => Receipts.Write(S, receipt, () => state.WriteOrReloadAsync(
        forget: () =>
        {
            _outcomeUnknown = true;
            DeactivateOnIdle();
        },
        readBack: Teams.TellAgain));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A stored child may have receipts stored by an earlier activation, until now at the latest.
        Receipts.Loaded(state.RecordExists, S, ChildStateCompaction.SharedIds);
        S.Compact();
        // Not awaited, so an activation never waits on a team (which may be calling this child). The boards then show
        // what is stored even when the summary a write should have sent was lost with the write's answer.
        Teams.TellAgain();

        // Reminders can be late or lost around restarts; the deadline is in state, so check it here too.
        if (S.Exists && S.Status == ChildStatus.Unallocated)
        {
            await CheckClock();
        }
    }

    public Task<ChildView?> Get() => Task.FromResult(S.Exists ? View() : null);

    public Task<ChildExpectation?> GetPlace() => Task.FromResult(S.Exists ? new ChildExpectation(S.TeamId, S.WorkerId) : null);

    public Task<ChildResult> Refer(ReferChild command) =>
        Checked(command.Access, command.Audit, Rules.ChildNotYours, () => ApplyRefer(command), referral: true);

    public Task<ChildResult> Allocate(AllocateChild command) => Checked(command.Access, command.Audit, Rules.TeamNotYours, () => ApplyAllocate(command));

    public Task<ChildResult> Reallocate(ReallocateChild command) => Checked(command.Access, command.Audit, Rules.TeamNotYours, () => ApplyReallocate(command));

    public Task<ChildResult> Transfer(TransferChild command) => Checked(command.Access, command.Audit, Rules.TeamNotYours, () => ApplyTransfer(command));

    public Task<ChildResult> Close(CloseChild command) => Checked(command.Access, command.Audit, Rules.TeamNotYours, () => ApplyClose(command));

    /// <summary>
    /// A command on the child by a caller whose access is checked here, against the child's team as the command finds
    /// it (before its retry receipt: a retry by someone no longer entitled is refused too, as the first attempt would
    /// be now). A refused caller learns nothing of the child; an allowed one gets the child's team and worker before
    /// the command with its result, for the audit trail. A child not referred yet has no team to check: the command's
    /// own rules answer (a referral creates it; the rest refuse it as unknown). The command's audit entry, if drafted,
    /// is completed and stored with the command's write (<see cref="Commit"/>); the result says whether it was.
    /// </summary>
    private async Task<ChildResult> Checked(CommandAccess? access, AuditDraft? audit, string rule, Func<Task<ChildResult>> command, bool referral = false)
    {
        if (access is not null && S.Exists && !access.Covers(S.TeamId))
        {
            return ChildResult.Refused(rule == Rules.ChildNotYours
                ? Refusal.Forbidden(rule, $"Child '{Id}' is not in one of your teams: its own team may transfer it to yours, or a senior leader may re-refer it.")
                : Refusal.Forbidden(rule, $"Team '{S.TeamId}' is not one of your teams."));
        }

        var before = S.Exists ? new ChildExpectation(S.TeamId, S.WorkerId) : null;
        // A referral's entry names the team it was referred to, as the API's entries always have.
        _audit = audit is null ? null : (audit, referral ? null : before);
        _audited = false;
        try
        {
            return (await command()) with { Before = before, Audited = _audited };
        }
        finally
        {
            (_audit, _audited) = (null, false);
        }
    }

    private async Task<ChildResult> ApplyRefer(ReferChild command)
    {
        if (await Replay(command.RequestId, "refer", command.By) is { } replay)
        {
            return replay;
        }

        if (Changed(command.Expect) is { } changed)
        {
            return ChildResult.Refused(changed);
        }

        if (S.Exists && S.Status != ChildStatus.Closed)
        {
            // Not which team: the caller may not be entitled to know.
            return ChildResult.Refused(Refusal.Conflict(Rules.ChildOpen,
                $"Child {Id} is already open; its team may transfer it instead of referring it again."));
        }

        var now = time.GetUtcNow();
        S.PreviousReferredAt = S.Exists ? S.ReferredAt : null;
        S.Exists = true;
        S.Episode++;
        S.TeamId = command.TeamId;
        S.Status = ChildStatus.Unallocated;
        S.WorkerId = null;
        S.ReferredAt = now;
        S.ClosedAt = null;
        S.FamilyId = command.FamilyId ?? S.FamilyId;
        StartClock(now, S.Episode == 1 ? "referral" : "re-referral");
        var receipt = await Commit("refer", command.RequestId, null, command.TeamId, command.By);
        await TellTeam(Feed(now, "referred", null, command.By,
            S.Episode == 1 ? $"{Id} referred to the team" : $"{Id} re-referred (episode {S.Episode})"));
        LogReferred(Id, S.TeamId, S.Episode);
        return new ChildResult(null, View(), receipt);
    }

    private async Task<ChildResult> ApplyAllocate(AllocateChild command)
    {
        if (await Replay(command.RequestId, "allocate", command.By) is { } replay)
        {
            return replay;
        }

        if ((OpenRefusal() ?? Changed(command.Expect) ?? AllocationRules.CheckAllocatable(Id, S.Exists, S.Status, S.WorkerId, command.WorkerId)) is { } refusal)
        {
            return ChildResult.Refused(refusal);
        }

        return await AllocateTo(command.WorkerId, command.RequestId, "allocate", "allocation", command.By, command.Override);
    }

    private async Task<ChildResult> ApplyReallocate(ReallocateChild command)
    {
        if (await Replay(command.RequestId, "reallocate", command.By) is { } replay)
        {
            return replay;
        }

        if ((OpenRefusal() ?? Changed(command.Expect)) is { } refusal)
        {
            return ChildResult.Refused(refusal);
        }

        if (S.Status != ChildStatus.Allocated)
        {
            return ChildResult.Refused(Refusal.Conflict(Rules.NotAllocated, $"Child {Id} has no worker to change; allocate it instead."));
        }

        if (S.WorkerId == command.WorkerId)
        {
            return ChildResult.Refused(Refusal.Conflict(Rules.SameWorker, $"Child {Id} is already allocated to {command.WorkerId}."));
        }

        return await AllocateTo(command.WorkerId, command.RequestId, "reallocate", command.Reason, command.By, command.Override);
    }

    private async Task<ChildResult> ApplyTransfer(TransferChild command)
    {
        if (await Replay(command.RequestId, "transfer", command.By) is { } replay)
        {
            return replay;
        }

        if ((OpenRefusal() ?? Changed(command.Expect)) is { } refusal)
        {
            return ChildResult.Refused(refusal);
        }

        if (AllocationRules.CheckRecordCap("transfers", S.Transfers?.Count ?? 0, AllocationRules.MaxTransfers) is { } full)
        {
            return ChildResult.Refused(full);
        }

        if (S.TeamId == command.ToTeamId)
        {
            return ChildResult.Refused(Refusal.Conflict(Rules.SameTeam, $"Child {Id} is already in team {command.ToTeamId}."));
        }

        var now = time.GetUtcNow();
        var fromTeam = S.TeamId;
        var previousWorker = S.WorkerId;
        EndPeriod(now, "transfer");
        (S.Transfers ??= []).Add(new TeamMove(fromTeam, command.ToTeamId, now, command.Reason, command.By));
        S.TeamId = command.ToTeamId;
        S.Status = ChildStatus.Unallocated;
        S.WorkerId = null;
        StartClock(now, "transfer");
        var receipt = await Commit("transfer", command.RequestId, null, command.ToTeamId, command.By, previousWorker);
        if (previousWorker is not null)
        {
            await LetGo(previousWorker);
        }

        await Teams.Tell(Team(fromTeam).ChildLeft(Id, S.Version, Feed(now, "transferred-out", previousWorker, command.By, $"{Id} transferred to {command.ToTeamId}")));
        await TellTeam(Feed(now, "transferred-in", null, command.By, $"{Id} transferred in from {fromTeam}"));
        LogTransferred(Id, fromTeam, S.TeamId);
        return new ChildResult(null, View(), receipt);
    }

    private async Task<ChildResult> ApplyClose(CloseChild command)
    {
        if (await Replay(command.RequestId, "close", command.By) is { } replay)
        {
            return replay;
        }

        if ((OpenRefusal() ?? Changed(command.Expect)) is { } refusal)
        {
            return ChildResult.Refused(refusal);
        }

        var now = time.GetUtcNow();
        var previousWorker = S.WorkerId;
        EndPeriod(now, "closed");
        S.Status = ChildStatus.Closed;
        S.WorkerId = null;
        S.ClosedAt = now;
        if (S.ClockStoppedAt is null)
        {
            S.ClockStoppedAt = now;
        }

        // The closure is stored with the child's state, in the same transaction: the team's closed cases never miss it.
        S.Closing = new ClosedCase(Summary(), now);
        CommandReceipt receipt;
        try
        {
            receipt = await Commit("close", command.RequestId, null, S.TeamId, command.By, previousWorker);
        }
        finally
        {
            S.Closing = null;
        }

        if (previousWorker is not null)
        {
            await LetGo(previousWorker);
        }

        await Teams.Tell(Team(S.TeamId).ChildLeft(Id, S.Version, Feed(now, "closed", previousWorker, command.By, $"{Id} closed: {command.Reason}")));
        return new ChildResult(null, View(), receipt);
    }

    public async Task<ChildResult> UpdateCaseRecord(UpdateCaseRecord command)
    {
        if (await Replay(command.RequestId, "case-record", command.By) is { } replay)
        {
            return replay;
        }

        if ((OpenRefusal() ?? Changed(command.Expect)) is { } refusal)
        {
            return ChildResult.Refused(refusal);
        }

        if (command.Record.Check() is { } invalid)
        {
            return ChildResult.Refused(invalid);
        }

        S.CaseRecord = command.Record;
        var receipt = await Commit("case-record", command.RequestId, S.WorkerId, S.TeamId, command.By);
        await TellTeam(null);
        return new ChildResult(null, View(), receipt);
    }

    public async Task<ChildResult> Import(ImportChild command)
    {
        if (S.Exists)
        {
            return ChildResult.Refused(Refusal.Conflict(Rules.ChildOpen, $"Child {Id} already exists; import loads new children only."));
        }

        var now = time.GetUtcNow();
        var history = command.History.OrderBy(p => p.From).ToList();
        var current = history.LastOrDefault(p => p.To is null);
        if (current is not null)
        {
            var reservation = await Worker(current.WorkerId).Reserve(
                new ReservePlace(Id, command.TeamId, $"import:{Id}", command.Override, Import: true));
            if (reservation.Refusal is { } refusal)
            {
                return ChildResult.Refused(refusal);
            }
        }

        S.Exists = true;
        S.Episode = 1;
        S.TeamId = command.TeamId;
        S.ReferredAt = command.ReferredAt;
        S.CaseRecord = command.CaseRecord;
        S.FamilyId = command.FamilyId;
        S.WorkerHistory = history;
        S.Status = current is null ? ChildStatus.Unallocated : ChildStatus.Allocated;
        S.WorkerId = current?.WorkerId;
        for (var i = 1; i < history.Count; i++)
        {
            if (AllocationRules.IsWorkerChange(history[i - 1].WorkerId, history[i].WorkerId))
            {
                S.WorkerChanges++;
            }
        }

        S.LastWorkerId = history.LastOrDefault()?.WorkerId;
        StartClock(command.ClockStartedAt, "referral");
        // The imported clock stopped at the first allocation after it started, if there was one.
        S.ClockStoppedAt = current is null ? null : history.FirstOrDefault(p => p.From >= command.ClockStartedAt)?.From ?? current.From;
        if (S.ClockStoppedAt is { } stopped && stopped > S.Deadline)
        {
            S.ClockBreached = true;
            (S.Breaches ??= []).Add(new Breach(S.TeamId, command.ClockStartedAt, S.Deadline.Value, S.Deadline.Value, S.Episode));
        }

        var receipt = await Commit("import", $"import:{Id}", S.WorkerId, S.TeamId, null);
        await TellTeam(null);
        if (S.Status == ChildStatus.Unallocated && now >= S.Deadline)
        {
            await CheckClock();
        }

        return new ChildResult(null, View(), receipt);
    }

    public Task ReleaseFromWorkerInBackground(ReleaseFromWorker command) => ReleaseFromWorker(command);

    public async Task<ReleaseOutcome> ReleaseFromWorker(ReleaseFromWorker command)
    {
        if (!S.Exists || S.Status != ChildStatus.Allocated || S.WorkerId != command.WorkerId)
        {
            // Whatever the worker holds for this child, the child does not record it.
            await Worker(command.WorkerId).Release(Id);
            return new ReleaseOutcome(Id, ReleaseKind.NotHeld, S.WorkerId, null);
        }

        var now = time.GetUtcNow();
        Refusal? moveRefused = null;
        if (command.MoveToWorkerId is { } target)
        {
            var reservation = await Worker(target).Reserve(new ReservePlace(Id, S.TeamId, command.RequestId, null));
            if (reservation.Refusal is null)
            {
                EndPeriod(now, command.Reason);
                BeginPeriod(target, now, command.Reason, command.By, null);
                await CommitOrRelease("release", command.RequestId, target, command.By, command.WorkerId, reservation.Limit);
                await LetGo(command.WorkerId);
                await TellTeam(Feed(now, "reallocated", target, command.By,
                    $"{Id} moved from {command.WorkerId} to {target} ({command.Reason})"));
                return new ReleaseOutcome(Id, ReleaseKind.Moved, target, null);
            }

            moveRefused = reservation.Refusal;
        }

        EndPeriod(now, command.Reason);
        S.Status = ChildStatus.Unallocated;
        S.WorkerId = null;
        StartClock(now, command.Reason);
        await Commit("release", command.RequestId, null, S.TeamId, command.By, command.WorkerId);
        await LetGo(command.WorkerId);
        await TellTeam(Feed(now, "returned-to-queue", command.WorkerId, command.By,
            $"{Id} back in the queue: {command.Reason}"));
        return new ReleaseOutcome(Id, ReleaseKind.Queued, null, moveRefused);
    }

    public async Task ConfirmAllocation(string workerId)
    {
        if (!S.Exists || S.Status != ChildStatus.Allocated || S.WorkerId != workerId)
        {
            LogReconciled(Id, workerId);
            await Worker(workerId).Release(Id);
        }
        else
        {
            await Worker(workerId).Confirmed(Id);
        }
    }

    public async Task CheckClock()
    {
        if (!S.Exists || S.Status != ChildStatus.Unallocated || S.Deadline is not { } deadline)
        {
            return;
        }

        if (S.ClockBreached)
        {
            // Asked again about a breach already stored: the team has not recorded its escalation (the call that told
            // it failed, or the process died after the child's write), so it is told again; it escalates each once.
            if (S.Breaches?.LastOrDefault(b => b.Deadline == deadline && b.TeamId == S.TeamId) is { } stored)
            {
                await Escalate(stored);
            }

            return;
        }

        var now = time.GetUtcNow();
        if (now < deadline)
        {
            return;
        }

        await RecordBreach(now);
    }

    public Task CheckClockInBackground() => CheckClock();

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != FormerDeadlineReminder)
        {
            return;
        }

        await CheckClock();
        if (await this.GetReminder(FormerDeadlineReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task<ChildResult> AllocateTo(string workerId, string requestId, string command, string reason, string? by, CeilingOverride? ceilingOverride)
    {
        if (AllocationRules.CheckRecordCap("worker periods", S.WorkerHistory.Count, AllocationRules.MaxWorkerPeriods) is { } full)
        {
            return ChildResult.Refused(full);
        }

        var reservation = await Worker(workerId).Reserve(new ReservePlace(Id, S.TeamId, requestId, ceilingOverride));
        if (reservation.Refusal is { } refusal)
        {
            LogRefused(Id, workerId, refusal.Rule);
            return ChildResult.Refused(refusal);
        }

        var now = time.GetUtcNow();
        var previousWorker = S.WorkerId;
        EndPeriod(now, reason);
        BeginPeriod(workerId, now, reason, by, reservation.OverCeiling ? ceilingOverride : null);
        var receipt = await CommitOrRelease(command, requestId, workerId, by, previousWorker, reservation.Limit);
        if (previousWorker is not null)
        {
            await LetGo(previousWorker);
        }

        var text = previousWorker is null ? $"{Id} allocated to {workerId}" : $"{Id} re-allocated from {previousWorker} to {workerId}: {reason}";
        if (reservation.OverCeiling)
        {
            text += $" (over ceiling {reservation.Ceiling} by override of {ceilingOverride!.By}: {ceilingOverride.Reason})";
        }

        await TellTeam(Feed(now, previousWorker is null ? "allocated" : "reallocated", workerId, by, text));
        LogAllocated(Id, workerId, reservation.Caseload, reservation.Ceiling);
        return new ChildResult(null, View(), receipt);
    }

    private void BeginPeriod(string workerId, DateTimeOffset now, string reason, string? by, CeilingOverride? ceilingOverride)
    {
        if (AllocationRules.IsWorkerChange(S.LastWorkerId, workerId))
        {
            S.WorkerChanges++;
        }

        S.LastWorkerId = workerId;
        S.WorkerHistory.Add(new WorkerPeriod(workerId, S.TeamId, now, null, reason, by, null, ceilingOverride));
        S.Status = ChildStatus.Allocated;
        S.WorkerId = workerId;
        if (S.ClockStoppedAt is null)
        {
            S.ClockStoppedAt = now;
            if (S.Deadline is { } deadline && now >= deadline && !S.ClockBreached)
            {
                // Allocated late without the reminder having fired yet: the breach still goes on the record.
                S.ClockBreached = true;
                (S.Breaches ??= []).Add(new Breach(S.TeamId, S.ClockStartedAt!.Value, deadline, now, S.Episode));
            }
        }
    }

    private void EndPeriod(DateTimeOffset now, string endReason)
    {
        var last = S.WorkerHistory.Count - 1;
        if (S.WorkerId is not null && last >= 0 && S.WorkerHistory[last].To is null)
        {
            S.WorkerHistory[last] = S.WorkerHistory[last] with { To = now, EndReason = endReason };
        }
    }

    private void StartClock(DateTimeOffset now, string reason)
    {
        S.ClockStartedAt = now;
        S.Deadline = now + _options.AllocationWindow;
        S.ClockReason = reason;
        S.ClockStoppedAt = null;
        S.ClockBreached = false;
    }

    private async Task RecordBreach(DateTimeOffset now)
    {
        S.ClockBreached = true;
        var breach = new Breach(S.TeamId, S.ClockStartedAt!.Value, S.Deadline!.Value, now, S.Episode);
        (S.Breaches ??= []).Add(breach);
        S.Version++;
        await Write();
        await Escalate(breach);
        await TellTeam(null);
        LogBreach(Id, S.TeamId, breach.Deadline);
    }

    /// <summary>Tells the breach's team, which escalates each breach once.</summary>
    private Task Escalate(Breach breach) =>
        Team(breach.TeamId).BreachRaised(new BreachNotice(Id, breach.ClockStartedAt, breach.Deadline, breach.RecordedAt, S.Version));

    private Refusal? OpenRefusal()
    {
        if (!S.Exists)
        {
            return Refusal.NotFound($"Child {Id} has not been referred.");
        }

        return S.Status == ChildStatus.Closed
            ? Refusal.Conflict(Rules.ChildClosed, $"Child {Id}'s case is closed; refer the child again to open a new episode.")
            : null;
    }

    /// <summary>The first result again for a retry by the same user; a request id someone else used is refused
    /// without saying what it did (a receipt is not a way to read a child past the access checks).</summary>
    private async ValueTask<ChildResult?> Replay(string requestId, string command, string? by)
    {
        if (await Receipts.Find(requestId) is not { } receipt)
        {
            return null;
        }

        if (!receipt.IsRetryOf(command, by))
        {
            return ChildResult.Refused(Refusal.Conflict(Rules.RequestIdReused,
                receipt.By == by
                    ? $"Request id {requestId} was already used for a '{receipt.Command}' command on child {Id}."
                    : $"Request id {requestId} was already used on child {Id}; use a new request id."));
        }

        // A retry: the first attempt's summary may not have reached the board (its answer was lost with it).
        Teams.TellAgain();
        return new ChildResult(null, View(), receipt, Replayed: true);
    }

    /// <summary>A refusal when the child is no longer in the team (or with the worker) the caller was checked against.
    /// It names neither the new team nor the new worker: the caller may have no right to know them.</summary>
    private Refusal? Changed(ChildExpectation? expect) =>
        expect is null || (expect.TeamId == (S.Exists ? S.TeamId : null) && expect.WorkerId == S.WorkerId)
            ? null
            : Refusal.Conflict(Rules.ChildChanged, $"Child {Id} changed team or worker after your request was checked; read it again and decide afresh.");

    /// <summary>Stores the command's change with its receipt. <paramref name="leaving"/> is the worker the change takes
    /// the child from: when the write's outcome is unknown, that worker (which lets go only after this write) is asked
    /// to settle it with the child read afresh, as the new worker is in <see cref="CommitOrRelease"/>.</summary>
    private async Task<CommandReceipt> Commit(string command, string requestId, string? workerId, string? teamId, string? by, string? leaving = null)
    {
        S.Version++;
        var now = time.GetUtcNow();
        var receipt = ChildStateCompaction.SharedIds(new CommandReceipt(requestId, command, now, workerId, teamId, S.Version, by));
        S.ShareNewest();
        S.Auditing = _audit is { } audit ? audit.Draft.Completed(audit.Before, S.TeamId, S.WorkerId, now) : null;
        S.AuditStored = false;
        try
        {
            await Write(receipt);
            if (S.AuditStored)
            {
                (_audited, _audit) = (true, null);
            }
        }
        catch
        {
            if (_outcomeUnknown && leaving is not null)
            {
                await Worker(leaving).Recheck(Id);
            }

            throw;
        }
        finally
        {
            S.Auditing = null;
            S.AuditStored = false;
            S.PlaceLimit = null;
        }

        return receipt;
    }

    /// <summary>Commits an allocation whose place is reserved, under the limit the worker reserved it with (the
    /// storage refuses the write if the worker's stored places already reach it); if the write fails, gives the place back.</summary>
    private async Task<CommandReceipt> CommitOrRelease(string command, string requestId, string workerId, string? by, string? leaving, int? limit)
    {
        try
        {
            S.PlaceLimit = limit;
            return await Commit(command, requestId, workerId, S.TeamId, by, leaving);
        }
        catch
        {
            if (_outcomeUnknown)
            {
                // The allocation may be stored or not: the worker keeps the place (the ceiling holds either way) and
                // asks this child, read afresh, until it confirms or lets go.
                await Worker(workerId).Recheck(Id);
            }
            else if (S.WorkerId != workerId)
            {
                await Worker(workerId).ReleaseUnstored(Id);
            }

            throw;
        }
    }

    private FeedItem Feed(DateTimeOffset at, string kind, string? workerId, string? by, string text) => new(at, kind, Id, workerId, by, text);

    /// <summary>The child's summary, after a stored change, to its team's board (with the feed line it makes).</summary>
    private Task TellTeam(FeedItem? feed) => Teams.Tell(Team(S.TeamId).ChildChanged(Summary(), feed));

    /// <summary>What is stored, told to each team whose board may show this child: its own team, and the team the last
    /// transfer took it from. Teams take a summary only when it is newer than the one they hold.</summary>
    private Task SyncTeams()
    {
        if (!S.Exists)
        {
            return Task.CompletedTask;
        }

        var own = S.Status != ChildStatus.Closed ? Team(S.TeamId).ChildSeen(Summary()) : Team(S.TeamId).ChildGone(Id, S.Version);
        return S.Transfers is { Count: > 0 } moves && moves[^1].FromTeamId != S.TeamId
            ? Task.WhenAll(own, Team(moves[^1].FromTeamId).ChildGone(Id, S.Version))
            : own;
    }

    /// <summary>After a stored change took the child from <paramref name="workerId"/>: the worker lets go of its place.
    /// The change is stored, so a failure here does not fail it: the worker is asked to check with this child until it
    /// lets go (or, if it cannot be reached either, does so when it next activates and the child does not confirm).</summary>
    private async Task LetGo(string workerId)
    {
        try
        {
            await Worker(workerId).Release(Id);
        }
        catch (Exception e)
        {
            LogLetGoFailed(Id, workerId, e.GetType().Name);
            try
            {
                await Worker(workerId).Recheck(Id);
            }
            catch (Exception)
            {
                // Its next activation asks each child it holds to confirm.
            }
        }
    }

    private ITeamGrain Team(string teamId) => GrainFactory.GetGrain<ITeamGrain>(teamId);

    private ISocialWorkerGrain Worker(string workerId) => GrainFactory.GetGrain<ISocialWorkerGrain>(workerId);

    private TeamChildSummary Summary() => S.Summary(Id, time.GetUtcNow(), _options);

    private ChildView View()
    {
        var now = time.GetUtcNow();
        ClockView? clock = null;
        if (S.Status != ChildStatus.Closed && S.ClockStartedAt is { } started && S.Deadline is { } deadline)
        {
            var status = S.ClockStoppedAt is null ? AllocationRules.Clock(deadline, now, _options.AmberThreshold) : ClockStatus.Stopped;
            var left = S.ClockStoppedAt is null ? (deadline - now).TotalSeconds : (deadline - S.ClockStoppedAt.Value).TotalSeconds;
            clock = new ClockView(started, deadline, S.ClockReason, status, left, S.ClockStoppedAt, S.ClockBreached);
        }

        var distinct = AllocationRules.DistinctWorkers(S.WorkerHistory, now, _options.WorkerChangeWindow);
        return new ChildView(Id, S.Status, S.TeamId, S.WorkerId,
            S.Status == ChildStatus.Allocated ? S.WorkerHistory[^1].From : null,
            S.Episode, S.ReferredAt, clock, S.WorkerChanges, distinct, AllocationRules.IsFlagged(distinct, _options),
            S.Transfers?.Count ?? 0, S.WorkerHistory.ToList(), S.Transfers?.ToList() ?? [], S.Breaches?.ToList() ?? [], S.Version, S.CaseRecord, S.FamilyId);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Child {ChildId} referred to team {TeamId} (episode {Episode})")]
    private partial void LogReferred(string childId, string teamId, int episode);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Child {ChildId} allocated to worker {WorkerId} ({Caseload}/{Ceiling})")]
    private partial void LogAllocated(string childId, string workerId, int caseload, int ceiling);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Allocation of child {ChildId} to worker {WorkerId} refused by rule {Rule}")]
    private partial void LogRefused(string childId, string workerId, string rule);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Child {ChildId} transferred from team {FromTeamId} to team {ToTeamId}")]
    private partial void LogTransferred(string childId, string fromTeamId, string toTeamId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Child {ChildId} in team {TeamId} breached the allocation deadline {Deadline}")]
    private partial void LogBreach(string childId, string teamId, DateTimeOffset deadline);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Child {ChildId}: worker {WorkerId} could not let go of it now ({Error}); it checks with the child until it does")]
    private partial void LogLetGoFailed(string childId, string workerId, string error);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Worker {WorkerId} held child {ChildId} without a recorded allocation; released")]
    private partial void LogReconciled(string childId, string workerId);
}
