using Allocation.Grains.Teams;

namespace Allocation.Grains.Kpis;

/// <summary>A closed case: the child's last team summary (referral, worker periods, case record) and when it closed.</summary>
/// <remarks>
/// The cases a team closed feed the KPIs that follow children past their closure (KPI 1's cohorts, 12 months from
/// referral; re-referrals; assessments completed in the period) and the pressure forecast's closures. Each closure is
/// the child's fact: the grain storage stores it once, in its own row, in the same transaction as the child's state that
/// records it (<see cref="IRecordsClosure"/>), keyed by child and episode, so a retried write never stores it twice and
/// a later episode of the same child never overwrites it.
/// </remarks>
[GenerateSerializer, Immutable]
public sealed record ClosedCase(
    [property: Id(0)] TeamChildSummary Summary,
    [property: Id(1)] DateTimeOffset ClosedAt);

/// <summary>A state whose next write also records a closure (null: none), stored with it in one transaction.</summary>
public interface IRecordsClosure
{
    /// <summary>The team the case was in when it closed.</summary>
    string TeamId { get; }

    /// <summary>The episode the closure belongs to: with the child, its key.</summary>
    int Episode { get; }

    ClosedCase? Closing { get; }
}

/// <summary>Reads the closures the grain storage recorded, by the team the case was in when it closed.</summary>
public interface IClosedCases
{
    /// <summary>How long closures are read back: long enough for KPI 1's earlier cohort (its quarter, the quarter
    /// after it, 12 months, and the quarter under way).</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromDays(2 * 366);

    /// <summary>The cases the team closed at or after <paramref name="since"/>, oldest closure first.</summary>
    Task<IReadOnlyList<ClosedCase>> ReadClosed(string teamId, DateTimeOffset since, CancellationToken cancellationToken = default);
}

/// <summary>
/// The state of the grain that kept each team's closed cases in one list before closures had rows of their own, which
/// rewrote the whole list on every closure. Kept only so that storage written then can be moved to the rows.
/// </summary>
[GenerateSerializer]
public sealed class LegacyClosedCasesState
{
    public const string StateName = "closed-cases";

    [Id(0)] public List<ClosedCase> Cases { get; set; } = [];
}
