using System.Text.Json.Serialization;

namespace Allocation.Grains.Children;

[GenerateSerializer]
public sealed class ChildState
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

    /// <summary>Receipts of the commands applied within the retry window (see <see cref="ChildGrain"/>).</summary>
    [Id(16)] public List<CommandReceipt> Receipts { get; set; } = [];
    [Id(17)] public long Version { get; set; }
    [Id(18)] public DateTimeOffset? ClosedAt { get; set; }

    /// <summary>The case record the nightly threshold checks read; kept across episodes, replaced as a whole.</summary>
    [Id(19)] public CaseRecord? CaseRecord { get; set; }

    /// <summary>The family in the authority's case management system, where known: brothers and sisters share it.</summary>
    [Id(20), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FamilyId { get; set; }
}
