namespace Allocation.Grains.Teams;

/// <summary>
/// What only the team knows. Its workers and children are their own grains' facts; the board built from them is a
/// <see cref="TeamProjection"/>, never stored.
/// </summary>
[GenerateSerializer]
public sealed class TeamState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";

    /// <summary>Breaches of the 24-hour clock and who each was escalated to (the child keeps its own record of it).</summary>
    [Id(5)] public List<EscalatedBreach> Breaches { get; set; } = [];

    /// <summary>Funded FTE, where the authority has loaded it; the nightly vacancy and agency checks need it.</summary>
    [Id(8)] public decimal? EstablishmentFte { get; set; }

    /// <summary>Whether the team's clock reminder is registered (once, when the team is created or first activated).</summary>
    [Id(9)] public bool ClocksWatched { get; set; }
}
