using System.Text.Json.Serialization;

namespace Allocation.Grains.Children;

[GenerateSerializer]
public sealed class ChildState : Teams.ITeamMember, SocialWorkers.IHoldsPlace, Kpis.IRecordsClosure, IRecordsReceipts, IRecordsAudit
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public ChildStatus Status { get; set; }
    [Id(2)] public string TeamId { get; set; } = "";
    [Id(3)] public string? WorkerId { get; set; }
    [Id(4)] public int Episode { get; set; }
    [Id(5)] public DateTimeOffset ReferredAt { get; set; }

    /// <summary>The current (or last) 24-hour clock. Cleared when the case closes.</summary>
    [Id(6)] public DateTimeOffset? ClockStartedAt { get; set; }
    [Id(7)] public DateTimeOffset? Deadline { get; set; }
    [Id(8)] public string ClockReason { get; set; } = "";
    [Id(9)] public DateTimeOffset? ClockStoppedAt { get; set; }
    [Id(10)] public bool ClockBreached { get; set; }

    /// <summary>Every allocation of the child over its life, across episodes; never trimmed.</summary>
    [Id(11)] public List<WorkerPeriod> WorkerHistory { get; set; } = [];

    /// <summary>The worker the child last had, kept across queue spells, so a return to them is not a change.</summary>
    [Id(12)] public string? LastWorkerId { get; set; }
    [Id(13)] public int WorkerChanges { get; set; }

    // Most children are never transferred and never breach: these stay null until first used, and are not written
    // while null, so a stored state without them (or with an empty list from before) reads as it always did.
    [Id(14), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<TeamMove>? Transfers { get; set; }
    [Id(15), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<Breach>? Breaches { get; set; }

    /// <summary>Receipts an earlier version stored in the child's row. Read, they are stored as receipt rows with the
    /// child's next write (<see cref="ICommandReceipts"/>) and never written here again.</summary>
    [Id(16), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<CommandReceipt>? Receipts { get; set; }
    [Id(17)] public long Version { get; set; }
    [Id(18)] public DateTimeOffset? ClosedAt { get; set; }

    /// <summary>The case record the nightly threshold checks read; kept across episodes, replaced as a whole.</summary>
    [Id(19)] public CaseRecord? CaseRecord { get; set; }

    /// <summary>An open child is on its team's board; a closed one (or none) is on no board.</summary>
    [JsonIgnore] public string? BoardTeam => Exists && Status != ChildStatus.Closed ? TeamId : null;

    /// <summary>An open child with a worker holds a place on that worker's caseload: the one record of it.</summary>
    [JsonIgnore] public string? HeldBy => BoardTeam is null ? null : WorkerId;

    /// <summary>The limit the worker reserved the place under, for the write that takes it (see
    /// <see cref="SocialWorkers.IHoldsPlace.PlaceLimit"/>; not itself stored: set by the command for its write, cleared after it).</summary>
    [JsonIgnore] public int? PlaceLimit { get => _placeLimit; set => _placeLimit = value; }

    [NonSerialized] private int? _placeLimit;

    /// <summary>The closure the next write records with this state, in its team's closed cases (not itself stored: set
    /// by the close command for its write, cleared after it).</summary>
    [JsonIgnore] public Kpis.ClosedCase? Closing { get => _closing; set => _closing = value; }

    [NonSerialized] private Kpis.ClosedCase? _closing;

    /// <summary>The receipts the next write stores, each as a row of its own (not itself stored: set by the command
    /// for its write, cleared after it).</summary>
    [JsonIgnore] public IReadOnlyList<CommandReceipt>? Receipting { get => _receipting; set => _receipting = value; }

    [NonSerialized] private IReadOnlyList<CommandReceipt>? _receipting;

    /// <summary>The audit entry the next write stores with the state (not itself stored: set by the command for its
    /// write, cleared after it), and whether the storage did.</summary>
    [JsonIgnore] public AuditDraft? Auditing { get => _auditing; set => _auditing = value; }

    [NonSerialized] private AuditDraft? _auditing;

    [JsonIgnore] public bool AuditStored { get => _auditStored; set => _auditStored = value; }

    [NonSerialized] private bool _auditStored;

    /// <summary>What the child's team shows of it, from the child's own facts.</summary>
    public Teams.TeamChildSummary Summary(string childId, DateTimeOffset now, AllocationOptions options)
    {
        // The rolling window's periods, and every period of this episode: KPI 1 follows a case for 12 months from referral.
        var windowStart = now - options.WorkerChangeWindow;
        var from = windowStart < ReferredAt ? windowStart : ReferredAt;
        var recent = WorkerHistory.Where(p => p.To is null || p.To >= from).ToList();
        var transfers = Transfers?.Where(t => t.At >= windowStart).Select(t => t.At).ToList();
        return new Teams.TeamChildSummary(childId, Version, WorkerId, Status == ChildStatus.Allocated ? WorkerHistory[^1].From : null,
            ClockStartedAt ?? ReferredAt, Deadline ?? ReferredAt, ClockReason, ClockBreached, WorkerChanges, recent, CaseRecord,
            ReferredAt, PreviousReferredAt, transfers is { Count: > 0 } ? transfers : null, FamilyId);
    }

    /// <summary>When the episode before this one was referred (for re-referrals within 12 months); null for a first referral.</summary>
    [Id(20), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DateTimeOffset? PreviousReferredAt { get; set; }

    /// <summary>The family in the authority's case management system, where known: brothers and sisters share it.</summary>
    [Id(21), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FamilyId { get; set; }
}
