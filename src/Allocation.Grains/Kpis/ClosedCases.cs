using Allocation.Grains.Teams;

namespace Allocation.Grains.Kpis;

/// <summary>
/// The cases a team closed in the last two years, as each child stood when it closed, for the KPIs that follow
/// children past their closure: KPI 1's cohorts (12 months from referral), re-referrals and assessments completed in
/// the period. A projection of the children's own history, kept apart from the team grain so the board's state does
/// not grow with it; written once per closure.
/// </summary>
public interface IClosedCasesGrain : IGrainWithStringKey
{
    Task Closed(ClosedCase closed);

    [ReadOnly]
    Task<IReadOnlyList<ClosedCase>> List();
}

/// <summary>A closed case: the child's last team summary (referral, worker periods, case record) and when it closed.</summary>
[GenerateSerializer, Immutable]
public sealed record ClosedCase(
    [property: Id(0)] TeamChildSummary Summary,
    [property: Id(1)] DateTimeOffset ClosedAt);

[GenerateSerializer]
public sealed class ClosedCasesState
{
    [Id(0)] public List<ClosedCase> Cases { get; set; } = [];
}

public sealed class ClosedCasesGrain(
    [PersistentState("closed-cases", GrainStorage.Name)] IPersistentState<ClosedCasesState> state,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time) : Grain, IClosedCasesGrain
{
    /// <summary>Long enough for KPI 1's earlier cohort: its quarter, the quarter after it, 12 months, and the quarter under way.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromDays(2 * 366);

    public async Task Closed(ClosedCase closed)
    {
        var cases = state.State.Cases;
        // A retried closure sends the same summary again: keep one.
        if (cases.Exists(c => c.Summary.ChildId == closed.Summary.ChildId && c.Summary.Version == closed.Summary.Version))
        {
            return;
        }

        var since = time.GetUtcNow() - Kept;
        cases.RemoveAll(c => (c.Summary.ReferredAt ?? c.ClosedAt) < since);
        cases.Add(closed);
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<ClosedCase>> List() => Task.FromResult<IReadOnlyList<ClosedCase>>(state.State.Cases.ToList());
}
