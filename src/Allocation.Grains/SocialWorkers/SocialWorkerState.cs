namespace Allocation.Grains.SocialWorkers;

[GenerateSerializer]
public sealed class SocialWorkerState : Teams.ITeamMember, IRecordsReceipts
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string TeamId { get; set; } = "";
    [Id(3)] public WorkerRole Role { get; set; }
    [Id(4)] public decimal Fte { get; set; } = 1m;
    [Id(5)] public int? ExplicitCeiling { get; set; }

    /// <summary>Places an earlier version stored here, by child id. Each allocated child's own row records its place
    /// now (<see cref="IHoldsPlace"/>) and the worker reads its caseload from those: read, this is dropped, and the
    /// next write stores none.</summary>
    [Id(6)] public Dictionary<string, CaseEntry>? LegacyCaseload { get; set; }
    [Id(7)] public List<Absence> Absences { get; set; } = [];
    [Id(8)] public bool HasLeft { get; set; }
    [Id(9)] public DateTimeOffset? LeftAt { get; set; }
    /// <summary>Receipts an earlier version kept here. Each receipt is a row of its own now (<see cref="Grains.Receipts"/>,
    /// shared with the child): read, these go to memory, and the next write stores them as rows and none here.</summary>
    [Id(10)] public List<CommandReceipt>? Receipts { get; set; }

    /// <summary>The receipts the next write stores, each as a row of its own (not itself stored: set for a write,
    /// cleared after it).</summary>
    [System.Text.Json.Serialization.JsonIgnore] public IReadOnlyList<CommandReceipt>? Receipting { get => _receipting; set => _receipting = value; }

    [NonSerialized] private IReadOnlyList<CommandReceipt>? _receipting;

    /// <summary>The move under way for an absence or leaving, kept until the caseload is empty so it can resume.</summary>
    [Id(11)] public CaseloadMove? PendingMove { get; set; }

    /// <summary>Agency staff rather than employed; reported as the agency share.</summary>
    [Id(12)] public bool Agency { get; set; }

    /// <summary>A worker is on their team's board (as a leaver too, for the nightly checks) once they exist.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public string? BoardTeam => Exists ? TeamId : null;

    /// <summary>What the worker's team shows of them, from the worker's own facts (the places, and the overrides among
    /// them, the team counts from its children).</summary>
    public Teams.TeamWorkerSummary Summary(string workerId, AllocationOptions options) => new(
        workerId, Name, Role, Fte, AllocationRules.Ceiling(Role, Fte, ExplicitCeiling, options), Absences.ToList(), HasLeft,
        0, Agency, Supervisions);

    /// <summary>The last year of the worker's own supervision dates, for KPI 43 (supervision in each of three months).</summary>
    [Id(13)] public List<DateOnly>? Supervisions { get; set; }
}
