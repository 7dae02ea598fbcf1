namespace Allocation.Grains.SocialWorkers;

[GenerateSerializer]
public sealed class SocialWorkerState : Teams.ITeamMember
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string TeamId { get; set; } = "";
    [Id(3)] public WorkerRole Role { get; set; }
    [Id(4)] public decimal Fte { get; set; } = 1m;
    [Id(5)] public int? ExplicitCeiling { get; set; }

    /// <summary>Places held, by child id. Includes reservations a child has not yet recorded: they count
    /// towards the ceiling until confirmed or released.</summary>
    [Id(6)] public Dictionary<string, CaseEntry> Caseload { get; set; } = new(StringComparer.Ordinal);
    [Id(7)] public List<Absence> Absences { get; set; } = [];
    [Id(8)] public bool HasLeft { get; set; }
    [Id(9)] public DateTimeOffset? LeftAt { get; set; }
    [Id(10)] public List<CommandReceipt> Receipts { get; set; } = [];

    /// <summary>The move under way for an absence or leaving, kept until the caseload is empty so it can resume.</summary>
    [Id(11)] public CaseloadMove? PendingMove { get; set; }

    /// <summary>Agency staff rather than employed; reported as the agency share.</summary>
    [Id(12)] public bool Agency { get; set; }

    /// <summary>A worker is on their team's board (as a leaver too, for the nightly checks) once they exist.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public string? BoardTeam => Exists ? TeamId : null;

    /// <summary>What the worker's team shows of them, from the worker's own facts.</summary>
    public Teams.TeamWorkerSummary Summary(string workerId, AllocationOptions options) => new(
        workerId, Name, Role, Fte, AllocationRules.Ceiling(Role, Fte, ExplicitCeiling, options), Absences.ToList(), HasLeft,
        Caseload.Values.Count(c => c.Override is not null), Agency, Supervisions);

    /// <summary>The last year of the worker's own supervision dates, for KPI 43 (supervision in each of three months).</summary>
    [Id(13)] public List<DateOnly>? Supervisions { get; set; }
}
