namespace Allocation.Grains.Teams;

[GenerateSerializer]
public sealed class TeamState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public Dictionary<string, TeamWorkerSummary> Workers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Open children in the team, allocated or waiting.</summary>
    [Id(3)] public Dictionary<string, TeamChildSummary> Children { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public List<FeedItem> Feed { get; set; } = [];
    [Id(5)] public List<EscalatedBreach> Breaches { get; set; } = [];
    [Id(6)] public long Version { get; set; }

    /// <summary>Each worker's "my caseload" board version: it moves only when that worker's board changes.</summary>
    [Id(7)] public Dictionary<string, long> WorkerBoardVersions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Funded FTE, where the authority has loaded it; the nightly vacancy and agency checks need it.</summary>
    [Id(8)] public decimal? EstablishmentFte { get; set; }
}
