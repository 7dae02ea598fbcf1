using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Teams;

namespace Allocation.Tests.Teams;

/// <summary>The projection keeps the queue, the children who could be flagged and each worker's overrides as indexes of
/// their own, so a change does not walk the whole team; what it reports must equal a walk over every child it holds.</summary>
public class TeamProjectionIndexTests
{
    private static readonly AllocationOptions Options = new();
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Pressure_queue_and_clocks_equal_a_walk_over_every_child_through_random_changes()
    {
        var random = new Random(20261203);
        var projection = TeamProjection.Build("t1", TeamFacts.None, Start, Options);
        var workers = Enumerable.Range(1, 6).Select(i => $"w{i}").ToArray();
        foreach (var w in workers)
        {
            projection.WorkerChanged(new TeamWorkerSummary(w, w, WorkerRole.SocialWorker, 1m, 4, [], false, 0));
        }

        long version = 0;
        var now = Start;
        var (flaggedSeen, waitingSeen, overdueSeen, overridesSeen) = (0, 0, 0, 0);
        for (var step = 0; step < 3_000; step++)
        {
            now += TimeSpan.FromMinutes(random.Next(0, 90));
            var childId = $"c{random.Next(80)}";
            if (random.Next(10) == 0)
            {
                projection.ChildLeft(childId, ++version, null);
            }
            else
            {
                projection.ChildChanged(Summary(random, childId, ++version, now, workers), null);
            }

            var pressure = projection.Pressure("Team", [], now);
            var reference = Walk(projection.Children, now);
            var overrides = workers.ToDictionary(w => w, w => projection.Children.Count(c =>
                c.WorkerId == w && AllocationRules.CurrentPeriodWith(c.RecentPeriods, w)?.Override is not null));
            Assert.Equal(overrides.Values.Sum(), pressure.OverridesInForce);
            Assert.Equal(overrides, projection.Workers.ToDictionary(w => w.WorkerId, w => w.OverridesInForce));
            Assert.Equal(reference, (pressure.OpenChildren, pressure.Allocated, pressure.Unallocated, pressure.LongestWaitSeconds,
                pressure.BreachedNow, pressure.ChildrenOverWorkerThreshold));
            Assert.Equal(Ids(projection.Children.Where(c => c.WorkerId is null && !c.Breached)), Ids(projection.Waiting));
            Assert.Equal(Ids(projection.Children.Where(c => c.WorkerId is null && c.Deadline <= now)), Ids(projection.Overdue(now)));
            Assert.Equal(
                projection.Children.Where(c => c.WorkerId is null).OrderBy(c => c.Deadline).ThenBy(c => c.ChildId, StringComparer.Ordinal).Select(c => c.ChildId),
                projection.Board("Team", [], now).Unallocated.Select(q => q.ChildId));
            flaggedSeen += pressure.ChildrenOverWorkerThreshold > 0 ? 1 : 0;
            waitingSeen += pressure.Unallocated > 0 ? 1 : 0;
            overdueSeen += pressure.BreachedNow > 0 ? 1 : 0;
            overridesSeen += pressure.OverridesInForce > 0 ? 1 : 0;
        }

        // The sequence reached every case the indexes serve, not only the empty ones.
        Assert.True(flaggedSeen > 100 && waitingSeen > 100 && overdueSeen > 100 && overridesSeen > 100,
            $"{flaggedSeen} {waitingSeen} {overdueSeen} {overridesSeen}");
    }

    /// <summary>The figures as a walk over every child computes them.</summary>
    private static (int, int, int, double, int, int) Walk(IReadOnlyCollection<TeamChildSummary> children, DateTimeOffset now)
    {
        var waiting = children.Where(c => c.WorkerId is null).ToList();
        var flagged = children.Count(c =>
            AllocationRules.IsFlagged(AllocationRules.DistinctWorkers(c.RecentPeriods, now, Options.WorkerChangeWindow), Options));
        return (children.Count, children.Count - waiting.Count, waiting.Count,
            waiting.Count == 0 ? 0 : waiting.Max(c => (now - c.ClockStartedAt).TotalSeconds),
            waiting.Count(c => now >= c.Deadline), flagged);
    }

    private static TeamChildSummary Summary(Random random, string childId, long version, DateTimeOffset now, string[] workers)
    {
        var periods = Enumerable.Range(0, random.Next(0, 7))
            .Select(i => new WorkerPeriod(workers[random.Next(workers.Length)], "t1", now.AddDays(-300 + 40 * i), now.AddDays(-290 + 40 * i), "allocation"))
            .ToList();
        var worker = random.Next(3) == 0 ? null : workers[random.Next(workers.Length)];
        if (worker is not null && random.Next(4) > 0)
        {
            // The open period with the worker, at times above the ceiling by override.
            var ceilingOverride = random.Next(3) == 0 ? new CeilingOverride("hos-1", "keeps siblings together") : null;
            periods.Add(new WorkerPeriod(worker, "t1", now, null, "allocation", Override: ceilingOverride));
        }

        var started = now - TimeSpan.FromHours(random.Next(0, 48));
        return new TeamChildSummary(childId, version, worker, worker is null ? null : now, started, started + Options.AllocationWindow,
            "referral", worker is null && random.Next(4) == 0, periods.Count, periods);
    }

    private static string[] Ids(IEnumerable<TeamChildSummary> children) => children.Select(c => c.ChildId).Order(StringComparer.Ordinal).ToArray();
}
