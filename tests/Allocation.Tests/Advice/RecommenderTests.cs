using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Children;
using FsCheck;
using FsCheck.Fluent;

namespace Allocation.Tests.Advice;

/// <summary>The ranking's rules: who cannot take the child never comes first; continuity and siblings move a worker up
/// as the weights say; a child already over the flag weighs continuity most.</summary>
public class RecommenderTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly AllocationOptions Rules = new();
    private static readonly AdviceOptions Weights = new();

    private static Candidate Worker(string id, int caseload = 10, int ceiling = 18, WorkerRole role = WorkerRole.SocialWorker, params Absence[] absences) =>
        new(id, id, role, 1m, caseload, ceiling, absences);

    private static WorkerPeriod Period(string workerId, int monthsAgo, int endedMonthsAgo) =>
        new(workerId, "T", Now.AddMonths(-monthsAgo), Now.AddMonths(-endedMonthsAgo), "allocation", null, "moved");

    private static IReadOnlyList<string> Order(Recommendations r) => r.Workers.Select(w => w.WorkerId).ToList();

    [Fact]
    public void With_nothing_else_between_them_the_worker_with_more_room_comes_first()
    {
        var r = Recommender.Rank("C", "T", [], [Worker("full-ish", 16), Worker("roomy", 4), Worker("middle", 10)], [], Now, Rules, Weights);
        Assert.Equal(["roomy", "middle", "full-ish"], Order(r));
        Assert.All(r.Workers, w => Assert.True(w.Recommended));
        Assert.Contains(r.Workers[0].Reasons, x => x.Kind == "room" && x.Text.StartsWith("14 of 18 places left", StringComparison.Ordinal));
    }

    [Fact]
    public void A_previous_worker_in_the_last_12_months_outranks_a_worker_with_more_room()
    {
        var history = new[] { Period("before", 6, 2) };
        var r = Recommender.Rank("C", "T", history, [Worker("roomy", 2), Worker("before", 12)], [], Now, Rules, Weights);
        Assert.Equal("before", r.Workers[0].WorkerId);
        var reason = Assert.Single(r.Workers[0].Reasons, x => x.Kind == "continuity");
        Assert.Equal(Weights.Continuity, reason.Points);
        Assert.Contains("not a change", reason.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_from_more_than_12_months_ago_is_no_continuity()
    {
        var history = new[] { Period("long-ago", 30, 14) };
        var r = Recommender.Rank("C", "T", history, [Worker("roomy", 2), Worker("long-ago", 12)], [], Now, Rules, Weights);
        Assert.Equal("roomy", r.Workers[0].WorkerId);
        Assert.DoesNotContain(r.Workers.SelectMany(w => w.Reasons), x => x.Kind == "continuity");
    }

    [Fact]
    public void For_a_child_over_three_workers_a_return_weighs_most_and_a_new_worker_counts_against()
    {
        var history = new[] { Period("w1", 11, 9), Period("w2", 9, 7), Period("w3", 7, 5), Period("w4", 5, 1) };
        var r = Recommender.Rank("C", "T", history, [Worker("new", 0), Worker("w2", 17)], [], Now, Rules, Weights);
        Assert.True(r.Flagged);
        Assert.Equal("w2", r.Workers[0].WorkerId);
        Assert.Equal(Weights.ContinuityWhenFlagged, r.Workers[0].Reasons.Single(x => x.Kind == "continuity").Points);
        Assert.Equal(-Weights.NewWorkerOverFlag, r.Workers[1].Reasons.Single(x => x.Kind == "worker-changes").Points);
    }

    [Fact]
    public void A_worker_who_holds_a_brother_or_sister_outranks_an_otherwise_equal_worker()
    {
        var without = Recommender.Rank("C", "T", [], [Worker("a", 8), Worker("b", 8)], [], Now, Rules, Weights);
        var with = Recommender.Rank("C", "T", [], [Worker("a", 8), Worker("b", 8)], [new Sibling("C-SIS", "b")], Now, Rules, Weights);
        Assert.Equal("a", without.Workers[0].WorkerId);
        Assert.Equal("b", with.Workers[0].WorkerId);
        Assert.Contains("C-SIS", with.Workers[0].Reasons.Single(x => x.Kind == "siblings").Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Continuity_and_siblings_never_lift_a_worker_at_the_ceiling_or_on_leave_above_one_who_can_take_the_child()
    {
        var history = new[] { Period("full", 6, 2) };
        var workers = new[]
        {
            Worker("full", 18), Worker("away", 0, 18, WorkerRole.SocialWorker, new Absence(Now.AddDays(-1), Now.AddDays(5), "annual leave")),
            Worker("soon", 0, 18, WorkerRole.SocialWorker, new Absence(Now.AddDays(2), Now.AddDays(9), "annual leave")), Worker("busy", 17),
        };
        var r = Recommender.Rank("C", "T", history, workers, [new Sibling("S", "full"), new Sibling("S2", "away")], Now, Rules, Weights);
        Assert.Equal("busy", r.Workers[0].WorkerId);
        Assert.True(r.Workers[0].Recommended);
        // Leave starting soon could take the child, so it comes before those the allocation would refuse.
        Assert.Equal(("soon", Recommender.AbsentSoon), (r.Workers[1].WorkerId, r.Workers[1].ExcludedRule));
        Assert.Equal(Allocation.Grains.Rules.Ceiling, r.Workers.Single(w => w.WorkerId == "full").ExcludedRule);
        Assert.Equal(Allocation.Grains.Rules.WorkerAbsent, r.Workers.Single(w => w.WorkerId == "away").ExcludedRule);
    }

    [Fact]
    public void A_newly_qualified_worker_with_the_same_share_of_room_ranks_below_an_experienced_one()
    {
        var r = Recommender.Rank("C", "T", [], [Worker("nqsw", 6, 12, WorkerRole.NewlyQualified), Worker("sw", 9, 18)], [], Now, Rules, Weights);
        Assert.Equal(["sw", "nqsw"], Order(r));
    }

    private static readonly Gen<Candidate> CandidateGen =
        from id in Gen.Choose(0, 1_000_000)
        from ceiling in Gen.Elements(0, 6, 9, 12, 14, 18)
        from caseload in Gen.Choose(0, 20)
        from role in Gen.Elements(WorkerRole.SocialWorker, WorkerRole.NewlyQualified, WorkerRole.AdvancedPractitioner)
        from leave in Gen.Elements(0, 0, 0, 1, 2)
        select new Candidate($"w{id}", $"Worker {id}", role, 1m, caseload, ceiling,
            leave switch
            {
                1 => [new Absence(Now.AddDays(-2), Now.AddDays(3), "sick")],
                2 => [new Absence(Now.AddDays(3), Now.AddDays(10), "annual leave")],
                _ => [],
            });

    [Fact]
    public void Random_teams_never_rank_a_worker_who_cannot_take_the_child_above_one_who_can()
    {
        var teams = Gen.ListOf(CandidateGen).Select(l => l.DistinctBy(c => c.WorkerId).ToList())
            .SelectMany(ws => Gen.SubListOf<Candidate>(ws.ToArray()).Select(prev => (Workers: ws, Previous: prev.ToList())))
            .ToArbitrary();
        var property = Prop.ForAll(teams, t =>
        {
            var history = t.Previous.Select((w, i) => new WorkerPeriod(w.WorkerId, "T", Now.AddDays(-100 + i), Now.AddDays(-99 + i), "allocation")).ToList();
            var siblings = t.Workers.Take(2).Select(w => new Sibling("sib-" + w.WorkerId, w.WorkerId)).ToList();
            var r = Recommender.Rank("C", "T", history, t.Workers, siblings, Now, Rules, Weights);
            var canTake = t.Workers.ToDictionary(w => w.WorkerId, w =>
                AllocationRules.AbsenceAt(w.Absences, Now) is null && AllocationRules.CheckCapacity(w.Caseload, w.Ceiling, null, Rules) is null);
            var lastAble = r.Workers.Select((w, i) => (w, i)).Where(x => canTake[x.w.WorkerId]).Select(x => x.i).DefaultIfEmpty(-1).Max();
            var firstUnable = r.Workers.Select((w, i) => (w, i)).Where(x => !canTake[x.w.WorkerId]).Select(x => x.i).DefaultIfEmpty(int.MaxValue).Min();
            return lastAble < firstUnable
                && r.Workers.All(w => !w.Recommended || canTake[w.WorkerId])
                && r.Workers.Select(w => w.Rank).SequenceEqual(Enumerable.Range(1, r.Workers.Count))
                && r.Workers.Where(w => w.Recommended).Select(w => w.Score).Zip(r.Workers.Where(w => w.Recommended).Skip(1).Select(w => w.Score)).All(p => p.First >= p.Second);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }
}
