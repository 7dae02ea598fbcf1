using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using FsCheck;
using FsCheck.Fluent;

namespace Allocation.Tests.Grains;

/// <summary>
/// Random command sequences, issued in concurrent batches so they interleave, never break the invariants:
/// a child has at most one worker; each worker's caseload is exactly the open children allocated to them;
/// no caseload is over its ceiling except by recorded override; the team board agrees with the children.
/// </summary>
[Collection(ClusterCollection.Name)]
public class InvariantPropertyTests(ClusterFixture fixture)
{
    private const int Children = 8;
    private static readonly (string Team, int Ceiling)[] WorkerSetup = [("A", 2), ("A", 3), ("A", 1), ("A", 2), ("B", 2), ("B", 1)];

    public enum Kind
    {
        Refer,
        Allocate,
        Reallocate,
        Transfer,
        Close,
        Absence,
        Leave,
        Retry,
    }

    public sealed record Command(Kind Kind, int Child, int Worker, int Team, bool Override)
    {
        public override string ToString() => $"{Kind}(c{Child}, w{Worker}, t{Team}{(Override ? ", override" : "")})";
    }

    private static readonly Gen<Command> CommandGen =
        from kind in Gen.Frequency(
            (6, Gen.Constant(Kind.Refer)), (8, Gen.Constant(Kind.Allocate)), (4, Gen.Constant(Kind.Reallocate)),
            (2, Gen.Constant(Kind.Transfer)), (2, Gen.Constant(Kind.Close)), (1, Gen.Constant(Kind.Absence)),
            (1, Gen.Constant(Kind.Leave)), (3, Gen.Constant(Kind.Retry)))
        from child in Gen.Choose(0, Children - 1)
        from worker in Gen.Choose(0, WorkerSetup.Length - 1)
        from team in Gen.Frequency((4, Gen.Constant(0)), (1, Gen.Constant(1)))
        from over in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new Command(kind, child, worker, team, over);

    [Fact]
    public void Random_interleavings_of_commands_never_break_the_invariants()
    {
        var commands = Gen.ListOf(CommandGen).Select(l => l.ToList()).ToArbitrary();
        var property = Prop.ForAll(commands, list => Task.Run(() => RunAndCheck(list)).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40).WithEndSize(50), property);
    }

    private async Task<bool> RunAndCheck(List<Command> commands)
    {
        var s = new Scenario(fixture.Grains);
        var teams = new[] { await s.Team("A"), await s.Team("B") };
        var workers = new List<string>();
        for (var i = 0; i < WorkerSetup.Length; i++)
        {
            var team = teams[WorkerSetup[i].Team == "A" ? 0 : 1];
            workers.Add(await s.Worker($"w{i}", team, ceiling: WorkerSetup[i].Ceiling));
        }

        // Start from a working team: every child referred (six to A, two to B), the first four allocated.
        var children = new List<string>();
        for (var i = 0; i < Children; i++)
        {
            children.Add(await s.Referred($"c{i}", teams[i < 6 ? 0 : 1]));
        }

        for (var i = 0; i < 4; i++)
        {
            Assert.Null((await s.Allocate(children[i], workers[i])).Refusal);
        }

        var issued = new List<Func<Task>>();
        foreach (var batch in commands.Chunk(4))
        {
            // Each batch runs at once: the grains see these commands interleaved.
            await Task.WhenAll(batch.Select(command => Issue(s, command, teams, workers, children, issued)));
        }

        await CheckInvariants(s, teams, workers, children);
        return true;
    }

    private Task Issue(Scenario s, Command command, string[] teams, List<string> workers, List<string> children, List<Func<Task>> issued)
    {
        var child = s.Child(children[command.Child]);
        var worker = workers[command.Worker];
        var requestId = s.NewRequestId();
        var ceilingOverride = command.Override ? new CeilingOverride("hos-1", "property test") : null;
        Func<Task> action = command.Kind switch
        {
            Kind.Refer => () => child.Refer(new ReferChild(requestId, teams[command.Team])),
            Kind.Allocate => () => child.Allocate(new AllocateChild(requestId, worker, null, ceilingOverride)),
            Kind.Reallocate => () => child.Reallocate(new ReallocateChild(requestId, worker, "rebalance", null, ceilingOverride)),
            Kind.Transfer => () => child.Transfer(new TransferChild(requestId, teams[command.Team], "transfer")),
            Kind.Close => () => child.Close(new CloseChild(requestId, "closed")),
            Kind.Absence => () => Staffing.StartAbsence(s.Grains, worker, new StartAbsence(requestId, fixture.Time.GetUtcNow(), fixture.Time.GetUtcNow().AddDays(1), "leave")),
            Kind.Leave => () => Staffing.Leave(s.Grains, worker, new LeaveService(requestId, "left", workers[(command.Worker + 1) % workers.Count])),
            _ => PickRetry(issued, command.Child),
        };
        lock (issued)
        {
            if (command.Kind != Kind.Retry)
            {
                issued.Add(action);
            }
        }

        return action();
    }

    private static Func<Task> PickRetry(List<Func<Task>> issued, int seed)
    {
        lock (issued)
        {
            return issued.Count == 0 ? () => Task.CompletedTask : issued[seed % issued.Count];
        }
    }

    private static async Task CheckInvariants(Scenario s, string[] teams, List<string> workers, List<string> children)
    {
        var views = new Dictionary<string, ChildView?>();
        foreach (var c in children)
        {
            views[c] = await s.Child(c).Get();
        }

        foreach (var w in workers)
        {
            var worker = await s.WorkerView(w);
            var expected = views.Where(v => v.Value is { Status: ChildStatus.Allocated } view && view.WorkerId == w).Select(v => v.Key).Order().ToList();
            Assert.Equal(expected, worker.Caseload.Select(c => c.ChildId).Order().ToList());
            Assert.True(worker.CaseloadCount - worker.OverridesInForce <= worker.Ceiling,
                $"{w}: {worker.CaseloadCount} children, ceiling {worker.Ceiling}, {worker.OverridesInForce} overrides");
        }

        foreach (var (id, view) in views)
        {
            if (view is null)
            {
                continue;
            }

            var changes = view.WorkerHistory.Zip(view.WorkerHistory.Skip(1)).Count(p => p.First.WorkerId != p.Second.WorkerId);
            Assert.Equal(changes, view.WorkerChanges);
            Assert.True(view.WorkerHistory.Count(p => p.To is null) == (view.Status == ChildStatus.Allocated ? 1 : 0), $"{id}: open periods");
        }

        foreach (var team in teams)
        {
            var board = await s.TeamGrain(team).GetBoard();
            var open = views.Where(v => v.Value is { } view && view.Status != ChildStatus.Closed && view.TeamId == team).ToList();
            Assert.Equal(
                open.Where(v => v.Value!.Status == ChildStatus.Unallocated).Select(v => v.Key).Order(),
                board.Unallocated.Select(q => q.ChildId).Order());
            foreach (var card in board.Workers)
            {
                Assert.Equal(open.Where(v => v.Value!.WorkerId == card.WorkerId).Select(v => v.Key).Order(), card.Children.Order());
            }
        }
    }
}
