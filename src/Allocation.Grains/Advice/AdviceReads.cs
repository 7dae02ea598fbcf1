using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Advice;

/// <summary>
/// Gathers what the recommendation and the preview need from the grains that own it, then asks the pure functions.
/// Reads only: the team's summaries for the ranking (no worker or child is activated for it), the child's and the
/// worker's own views for the preview, because those are what the allocation itself decides on.
/// </summary>
public static class AdviceReads
{
    public static async Task<Recommendations> Recommend(
        IGrainFactory grains, ChildView child, DateTimeOffset now, AllocationOptions rules, AdviceOptions weights)
    {
        var roster = await grains.GetGrain<ITeamGrain>(child.TeamId).GetRoster();
        var counts = roster.Children.Where(c => c.WorkerId is not null).GroupBy(c => c.WorkerId!)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var candidates = roster.Workers.Where(w => !w.HasLeft)
            .Select(w => new Candidate(w.WorkerId, w.Name, w.Role, w.Fte, counts.GetValueOrDefault(w.WorkerId), w.Ceiling, w.Absences))
            .ToList();
        var siblings = child.FamilyId is not { } family
            ? []
            : roster.Children.Where(c => c.FamilyId == family && c.ChildId != child.Id && c.WorkerId is not null)
                .Select(c => new Sibling(c.ChildId, c.WorkerId!)).ToList();
        return Recommender.Rank(child.Id, child.TeamId, child.WorkerHistory, candidates, siblings, now, rules, weights);
    }

    public static async Task<PreviewOutcome> Preview(
        IGrainFactory grains, string childId, string workerId, CeilingOverride? ceilingOverride, DateTimeOffset now, AllocationOptions rules,
        Kpis.KpiTarget? caseloadTarget = null)
    {
        var child = await grains.GetGrain<IChildGrain>(childId).Get();
        var worker = await grains.GetGrain<ISocialWorkerGrain>(workerId).Get();
        var roster = child is null
            ? new TeamRoster("", "", [], [])
            : await grains.GetGrain<ITeamGrain>(child.TeamId).GetRoster();
        return AllocationPreview.Evaluate(childId, child, workerId, worker, roster, ceilingOverride, now, rules, caseloadTarget);
    }
}
