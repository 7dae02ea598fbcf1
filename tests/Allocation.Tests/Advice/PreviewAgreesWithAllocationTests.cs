using Allocation.Grains;
using Allocation.Grains.Advice;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using FsCheck;
using FsCheck.Fluent;

namespace Allocation.Tests.Advice;

/// <summary>
/// The preview and the allocation cannot disagree: over random states (full, absent, departed and other-team workers,
/// waiting, allocated and closed children, histories with returns and changes), the preview is taken, then the real
/// command is run on the same state, and the two are compared field by field.
/// </summary>
[Collection(ClusterCollection.Name)]
public class PreviewAgreesWithAllocationTests(ClusterFixture fixture)
{
    private const int Children = 6;
    private static readonly int[] Ceilings = [1, 2, 3, 0, 2];

    public enum Kind
    {
        Refer,
        Allocate,
        Reallocate,
        Close,
        Absence,
        Leave,
    }

    public sealed record Step(Kind Kind, int Child, int Worker);

    public sealed record Case(List<Step> Steps, int Child, int Worker, bool Override)
    {
        public override string ToString() =>
            $"[{string.Join(", ", Steps.Select(s => $"{s.Kind}(c{s.Child},w{s.Worker})"))}] then allocate c{Child} to w{Worker}{(Override ? " with override" : "")}";
    }

    private static readonly Gen<Step> StepGen =
        from kind in Gen.Frequency((5, Gen.Constant(Kind.Refer)), (8, Gen.Constant(Kind.Allocate)), (3, Gen.Constant(Kind.Reallocate)),
            (2, Gen.Constant(Kind.Close)), (1, Gen.Constant(Kind.Absence)), (1, Gen.Constant(Kind.Leave)))
        from child in Gen.Choose(0, Children - 1)
        from worker in Gen.Choose(0, Ceilings.Length)
        select new Step(kind, child, worker);

    private static readonly Gen<Case> CaseGen =
        from steps in Gen.ListOf(StepGen)
        from child in Gen.Choose(0, Children)
        from worker in Gen.Choose(0, Ceilings.Length)
        from over in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new Case(steps.ToList(), child, worker, over);

    [Fact]
    public void Preview_and_allocation_agree_over_random_states()
    {
        var property = Prop.ForAll(CaseGen.ToArbitrary(), c => Task.Run(() => RunAndCompare(c)).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30).WithEndSize(30), property);
    }

    private async Task<bool> RunAndCompare(Case c)
    {
        var s = new Scenario(fixture.Grains);
        var team = await s.Team("A");
        var other = await s.Team("B");
        var workers = new List<string>();
        for (var i = 0; i < Ceilings.Length; i++)
        {
            workers.Add(await s.Worker($"w{i}", team, ceiling: Ceilings[i]));
        }

        workers.Add(await s.Worker("elsewhere", other, ceiling: 5)); // a worker of another team
        var children = Enumerable.Range(0, Children).Select(i => s.Id($"c{i}")).ToList();
        var now = fixture.Time.GetUtcNow();
        foreach (var step in c.Steps)
        {
            var child = s.Child(children[step.Child]);
            var worker = workers[step.Worker];
            switch (step.Kind)
            {
                case Kind.Refer:
                    await child.Refer(new ReferChild(s.NewRequestId(), team));
                    break;
                case Kind.Allocate:
                    await child.Allocate(new AllocateChild(s.NewRequestId(), worker));
                    break;
                case Kind.Reallocate:
                    await child.Reallocate(new ReallocateChild(s.NewRequestId(), worker, "rebalance"));
                    break;
                case Kind.Close:
                    await child.Close(new CloseChild(s.NewRequestId(), "closed"));
                    break;
                case Kind.Absence:
                    await Staffing.StartAbsence(s.Grains, worker, new StartAbsence(s.NewRequestId(), now, now.AddDays(3), "leave"));
                    break;
                default:
                    await Staffing.Leave(s.Grains, worker, new LeaveService(s.NewRequestId(), "left"));
                    break;
            }
        }

        // The last index of each list is an id nobody created: the preview must say what the allocation says then too.
        var childId = c.Child < Children ? children[c.Child] : s.Id("never-referred");
        var workerId = c.Worker < workers.Count ? workers[c.Worker] : s.Id("nobody");
        var ceilingOverride = c.Override ? new CeilingOverride("hos-1", "property test") : null;

        var preview = await AdviceReads.Preview(s.Grains, childId, workerId, ceilingOverride, fixture.Time.GetUtcNow(), new AllocationOptions());
        var result = await s.Child(childId).Allocate(new AllocateChild(s.NewRequestId(), workerId, "pm", ceilingOverride));

        Assert.Equal(result.Refusal?.Rule, preview.Refusal?.Rule);
        Assert.Equal(result.Refusal?.Kind, preview.Refusal?.Kind);
        Assert.Equal(result.Refusal?.Detail, preview.Refusal?.Detail);
        if (result.Refusal is not null)
        {
            return true;
        }

        var p = preview.Preview!;
        var actual = result.Child!;
        Assert.Equal(actual.Status, p.Child.Status);
        Assert.Equal(actual.WorkerId, p.Child.WorkerId);
        Assert.Equal(actual.AllocatedAt, p.Child.AllocatedAt);
        Assert.Equal(actual.WorkerChanges, p.Child.WorkerChanges);
        Assert.Equal(actual.DistinctWorkersLast12Months, p.Child.DistinctWorkersLast12Months);
        Assert.Equal(actual.Flagged, p.Child.Flagged);
        Assert.Equal(actual.Clock, p.Child.Clock);
        Assert.Equal(actual.WorkerHistory.Select(h => (h.WorkerId, h.From, h.To, h.Override)), p.Child.WorkerHistory.Select(h => (h.WorkerId, h.From, h.To, h.Override)));

        var view = await s.WorkerView(workerId);
        Assert.Equal(view.CaseloadCount, p.CaseloadAfter);
        Assert.Equal(view.Ceiling, p.Ceiling);
        Assert.Equal(view.CaseloadCount > view.Ceiling, p.OverCeilingAfter);

        var pressure = await s.TeamGrain(actual.TeamId).GetPressure();
        Assert.Equal(pressure.Workers, p.TeamCaseholders);
        Assert.Equal(pressure.WorkersAtOrUnderCeiling, p.TeamAtOrUnderCeilingAfter);
        Assert.Equal(pressure.PercentAtOrUnderCeiling, p.TeamPercentAtOrUnderCeilingAfter);
        return true;
    }
}
