using Allocation.Grains.Children;
using MathNet.Numerics.Statistics;

namespace Allocation.Grains.Advice;

/// <summary>A worker of the child's team as the recommendation sees them.</summary>
public sealed record Candidate(
    string WorkerId, string Name, WorkerRole Role, decimal Fte, int Caseload, int Ceiling, IReadOnlyList<Absence> Absences);

/// <summary>A brother or sister of the child (same family id) already allocated, and to whom.</summary>
public sealed record Sibling(string ChildId, string WorkerId);

[GenerateSerializer, Immutable]
public sealed record RecommendationReason(
    [property: Id(0)] string Kind,
    [property: Id(1)] string Text,
    [property: Id(2)] double Points);

/// <summary>One worker's place in the ranking. <see cref="Recommended"/> is false for a worker who cannot take the
/// child now (<see cref="ExcludedRule"/> says why); they are always ranked after every worker who can.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerRecommendation(
    [property: Id(0)] int Rank,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Name,
    [property: Id(3)] WorkerRole Role,
    [property: Id(4)] int Caseload,
    [property: Id(5)] int Ceiling,
    [property: Id(6)] bool Recommended,
    [property: Id(7)] double Score,
    [property: Id(8)] string? ExcludedRule,
    [property: Id(9)] string? Excluded,
    [property: Id(10)] IReadOnlyList<RecommendationReason> Reasons);

[GenerateSerializer, Immutable]
public sealed record Recommendations(
    [property: Id(0)] string ChildId,
    [property: Id(1)] string TeamId,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] int DistinctWorkersLast12Months,
    [property: Id(4)] bool Flagged,
    [property: Id(5)] IReadOnlyList<WorkerRecommendation> Workers);

/// <summary>
/// Ranks a team's workers for a waiting child, with the reasons and figures behind each rank. Pure: the caller
/// brings the team's workers, the child's worker history and its allocated siblings.
/// </summary>
public static class Recommender
{
    public const string AbsentSoon = "absence-starts-soon";
    public const string NoCaseload = "no-caseload";

    public static Recommendations Rank(
        string childId,
        string teamId,
        IReadOnlyList<WorkerPeriod> history,
        IReadOnlyList<Candidate> workers,
        IReadOnlyList<Sibling> siblings,
        DateTimeOffset now,
        AllocationOptions rules,
        AdviceOptions weights)
    {
        var distinct = AllocationRules.DistinctWorkers(history, now, rules.WorkerChangeWindow);
        var flagged = AllocationRules.IsFlagged(distinct, rules);
        var windowStart = now - rules.WorkerChangeWindow;
        var previous = history.Where(p => (p.To is null || p.To >= windowStart) && p.From <= now)
            .GroupBy(p => p.WorkerId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Max(p => p.To ?? now), StringComparer.Ordinal);

        // The spread is taken over the workers who could take the child: the others' caseloads do not move.
        var exclusions = workers.ToDictionary(w => w.WorkerId, w => Exclusion(w, now, rules, weights), StringComparer.Ordinal);
        var available = workers.Where(w => exclusions[w.WorkerId] is null).ToList();
        var spreadBefore = Spread(available, null);

        var ranked = new List<(Candidate Worker, double Score, (string Rule, string Text)? Excluded, List<RecommendationReason> Reasons)>();
        foreach (var w in workers)
        {
            var reasons = new List<RecommendationReason>();
            var placesLeft = w.Ceiling - w.Caseload;
            var roomShare = w.Ceiling > 0 ? Math.Max(0, placesLeft) / (double)w.Ceiling : 0;
            var nqsw = w.Role == WorkerRole.NewlyQualified;
            var roomPoints = weights.Room * roomShare * (nqsw ? weights.NewlyQualifiedRoomFactor : 1);
            var pro = w.Fte < 1m ? $", pro rata for {w.Fte:0.0#} FTE" : "";
            reasons.Add(new("room",
                placesLeft > 0
                    ? $"{placesLeft} of {w.Ceiling} places left{pro}" + (nqsw ? "; newly qualified, so room counts at half" : "")
                    : placesLeft == 0 ? $"At the ceiling of {w.Ceiling}{pro}" : $"{-placesLeft} over the ceiling of {w.Ceiling}{pro}",
                Round(roomPoints)));

            if (previous.TryGetValue(w.WorkerId, out var until))
            {
                reasons.Add(new("continuity",
                    flagged
                        ? $"Worked with {childId} until {until:yyyy-MM-dd}; the child has had {distinct} workers in 12 months, so a return weighs most (not a change)"
                        : $"Worked with {childId} until {until:yyyy-MM-dd}: a return is not a change of worker",
                    flagged ? weights.ContinuityWhenFlagged : weights.Continuity));
            }
            else
            {
                var after = distinct + 1;
                if (AllocationRules.IsFlagged(after, rules))
                {
                    reasons.Add(new("worker-changes",
                        $"A new worker: {childId} would have {after} workers in 12 months (flagged above {rules.WorkerChangeFlagThreshold})",
                        -weights.NewWorkerOverFlag));
                }
            }

            var held = siblings.Where(s => s.WorkerId == w.WorkerId).Select(s => s.ChildId).Order(StringComparer.Ordinal).ToList();
            if (held.Count > 0)
            {
                reasons.Add(new("siblings",
                    held.Count == 1 ? $"Already works with {held[0]}, a brother or sister" : $"Already works with {held.Count} brothers and sisters ({string.Join(", ", held)})",
                    weights.Siblings));
            }

            var excluded = exclusions[w.WorkerId];
            if (excluded is null && available.Count > 1)
            {
                var spreadAfter = Spread(available, w.WorkerId);
                var points = weights.Balance * (spreadBefore - spreadAfter) * 10;
                reasons.Add(new("balance",
                    $"Team spread of caseloads {(spreadAfter <= spreadBefore ? "narrows" : "widens")} from {spreadBefore:0.000} to {spreadAfter:0.000}",
                    Round(points)));
            }

            ranked.Add((w, Round(reasons.Sum(r => r.Points)), excluded, reasons));
        }

        // Rules first, then the score: every worker who can take the child comes before every one who cannot.
        var ordered = ranked
            .OrderBy(r => r.Excluded is null ? 0 : r.Excluded.Value.Rule == AbsentSoon ? 1 : 2)
            .ThenByDescending(r => r.Score)
            .ThenBy(r => r.Worker.Name, StringComparer.Ordinal)
            .ThenBy(r => r.Worker.WorkerId, StringComparer.Ordinal)
            .Select((r, i) => new WorkerRecommendation(i + 1, r.Worker.WorkerId, r.Worker.Name, r.Worker.Role, r.Worker.Caseload, r.Worker.Ceiling,
                r.Excluded is null, r.Score, r.Excluded?.Rule, r.Excluded?.Text, r.Reasons))
            .ToList();
        return new Recommendations(childId, teamId, now, distinct, flagged, ordered);
    }

    /// <summary>Why a worker is not recommended, or null. Absent now or full is what the allocation itself refuses;
    /// leave starting soon is the recommendation's own caution.</summary>
    private static (string Rule, string Text)? Exclusion(Candidate w, DateTimeOffset now, AllocationOptions rules, AdviceOptions weights)
    {
        if (AllocationRules.AbsenceAt(w.Absences, now) is { } absent)
        {
            return (Rules.WorkerAbsent, $"On leave ({absent.Reason})" + (absent.To is { } to ? $" until {to:yyyy-MM-dd}" : ""));
        }

        if (w.Ceiling == 0)
        {
            return (NoCaseload, "Holds no caseload (ceiling 0)");
        }

        if (AllocationRules.CheckCapacity(w.Caseload, w.Ceiling, null, rules) is not null)
        {
            return (Rules.Ceiling, $"At or over the ceiling: {w.Caseload} of {w.Ceiling}; only a senior leader's override could add a child");
        }

        var soon = w.Absences.Where(a => a.From > now && a.From <= now + weights.AbsenceLookAhead).OrderBy(a => a.From).FirstOrDefault();
        return soon is null
            ? null
            : (AbsentSoon, $"Leave ({soon.Reason}) starts {soon.From:yyyy-MM-dd}: the child would move again");
    }

    /// <summary>Standard deviation of caseload as a share of ceiling, with one more child for <paramref name="plusOne"/>.</summary>
    private static double Spread(IReadOnlyList<Candidate> workers, string? plusOne) =>
        workers.Count < 2
            ? 0
            : workers.Select(w => (w.Caseload + (w.WorkerId == plusOne ? 1 : 0)) / (double)w.Ceiling).PopulationStandardDeviation();

    private static double Round(double points) => Math.Round(points, 3);
}
