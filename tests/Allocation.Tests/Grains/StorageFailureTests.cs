using System.Collections.Concurrent;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Grains.Hosting;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Tests.Grains;

/// <summary>
/// The database failing in the middle of an allocation's second write (the child's), and staying down long enough
/// that the child cannot read its state back: the outcome is unknown to the grains. Whichever way it went, once the
/// database is back the child and the worker agree, the worker holds exactly the children that name it, and a retry
/// with the same request id is acknowledged only with the allocation stored.
/// </summary>
[Collection(FailingStorageCollection.Name)]
public sealed class StorageFailureTests(FailingStorageCluster fixture)
{
    private readonly Scenario _s = new(fixture.Grains);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_allocation_whose_write_outcome_is_unknown_ends_with_child_and_worker_agreeing_with_what_is_stored(bool writeLanded)
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team, ceiling: 1);
        var child = await _s.Referred("c", team);
        var requestId = _s.NewRequestId();

        fixture.Storage.FailChild(child, writeLanded);
        await Assert.ThrowsAnyAsync<Exception>(() => _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm")));
        fixture.Storage.Heal(child);

        // The worker kept the place while the outcome was unknown, and settles it with the child read afresh.
        var stored = await WaitAsync(async () =>
        {
            var held = (await _s.WorkerView(worker)).Caseload.Select(c => c.ChildId).ToList();
            var childStored = fixture.Storage.StoredChild(child);
            var names = childStored?.WorkerId == worker;
            return held.Contains(child) == names ? childStored : null;
        });
        Assert.Equal(writeLanded ? worker : null, stored.WorkerId);
        Assert.Equal(writeLanded ? ChildStatus.Allocated : ChildStatus.Unallocated, (await _s.View(child)).Status);

        // The team's board says what is stored: the summary the child would have sent after its write never came.
        await WaitAsync(async () =>
        {
            var board = await _s.TeamGrain(team).GetBoard();
            var onCard = board.Workers.Single(w => w.WorkerId == worker).Children.Contains(child);
            var queued = board.Unallocated.Any(q => q.ChildId == child);
            return onCard == writeLanded && queued != writeLanded ? board : null;
        }, "The team's board did not come to show what is stored");

        // The retry is acknowledged with the allocation stored, and the worker holds the child once.
        var retry = await _s.Child(child).Allocate(new AllocateChild(requestId, worker, "pm"));
        Assert.Null(retry.Refusal);
        Assert.Equal(worker, fixture.Storage.StoredChild(child)!.WorkerId);
        Assert.Equal([child], (await _s.WorkerView(worker)).Caseload.Select(c => c.ChildId));
        Assert.Equal(worker, (await _s.View(child)).WorkerId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reallocation_whose_write_outcome_is_unknown_leaves_the_child_on_exactly_one_caseload(bool writeLanded)
    {
        var team = await _s.Team();
        var from = await _s.Worker("from", team);
        var to = await _s.Worker("to", team);
        var child = await _s.Allocated("c", team, from);

        fixture.Storage.FailChild(child, writeLanded);
        await Assert.ThrowsAnyAsync<Exception>(() => _s.Child(child).Reallocate(new ReallocateChild(_s.NewRequestId(), to, "continuity", "pm")));
        fixture.Storage.Heal(child);

        // Both workers kept the child while the outcome was unknown; the one the stored child does not name lets go.
        var holder = writeLanded ? to : from;
        var other = writeLanded ? from : to;
        await WaitAsync(async () =>
        {
            var holds = (await _s.WorkerView(holder)).Caseload.Any(c => c.ChildId == child);
            var otherHolds = (await _s.WorkerView(other)).Caseload.Any(c => c.ChildId == child);
            var board = await _s.TeamGrain(team).GetBoard();
            var onCards = board.Workers.Where(w => w.Children.Contains(child)).Select(w => w.WorkerId).ToList();
            return fixture.Storage.StoredChild(child)?.WorkerId == holder && holds && !otherHolds && onCards.SequenceEqual([holder]) ? board : null;
        }, "The child did not end on exactly the stored worker's caseload and card");
    }

    [Fact]
    public async Task An_allocation_stored_whose_answer_was_lost_reaches_the_board_without_a_retry()
    {
        var team = await _s.Team();
        var worker = await _s.Worker("w", team);
        var child = await _s.Referred("c", team);

        // The write lands, its answer is lost, and the database answers the read back at once: the child knows the
        // allocation is stored, but the command failed and its caller may never retry it.
        fixture.Storage.FailChild(child, afterStoring: true, staysDown: false);
        await Assert.ThrowsAnyAsync<Exception>(() => _s.Child(child).Allocate(new AllocateChild(_s.NewRequestId(), worker, "pm")));
        Assert.Equal(worker, fixture.Storage.StoredChild(child)!.WorkerId);

        await WaitAsync(async () =>
        {
            var board = await _s.TeamGrain(team).GetBoard();
            var onCard = board.Workers.Single(w => w.WorkerId == worker).Children.Contains(child);
            return onCard && board.Unallocated.All(q => q.ChildId != child) ? board : null;
        }, "The board did not come to show the stored allocation");
    }

    [Fact]
    public async Task A_referral_stored_while_its_team_cannot_activate_is_acknowledged_and_reaches_the_board_when_it_can()
    {
        // A team not active yet, whose board cannot be built while the database is down.
        var team = "unreachable-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Storage.FailTeam(team);
        var child = "c-" + Guid.NewGuid().ToString("N")[..8];
        var referred = await _s.Child(child).Refer(new ReferChild(_s.NewRequestId(), team, "pm"));

        // The facts are stored, so the command is acknowledged; the board, built from what is stored once the team can
        // activate, shows it.
        Assert.Null(referred.Refusal);
        Assert.Equal(team, fixture.Storage.StoredChild(child)!.TeamId);
        fixture.Storage.HealTeam(team);
        await WaitAsync(async () =>
        {
            var board = await _s.TeamGrain(team).GetBoard();
            return board.Unallocated.Any(q => q.ChildId == child) ? board : null;
        }, "The team's board did not come to show the referral");
    }

    [Fact]
    public async Task A_breach_stored_while_its_team_cannot_be_told_is_escalated_when_the_team_can()
    {
        var team = "unreachable-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Storage.FailTeam(team);
        var child = "c-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Null((await _s.Child(child).Refer(new ReferChild(_s.NewRequestId(), team, "pm"))).Refusal);
        fixture.Time.Advance(TimeSpan.FromHours(25));

        // The child stores its breach; telling the team fails (it cannot activate while the database is down).
        await Assert.ThrowsAnyAsync<Exception>(() => _s.Child(child).CheckClock());
        Assert.True(fixture.Storage.StoredChild(child)!.ClockBreached);

        // Once the team can activate, it asks its overdue children again and the breach is escalated, once.
        fixture.Storage.HealTeam(team);
        var board = await WaitAsync(async () =>
        {
            var board = await _s.TeamGrain(team).GetBoard();
            return board.RecentBreaches.Any(b => b.ChildId == child) ? board : null;
        }, "The breach was never escalated to the team");
        Assert.Contains(TeamGrain.HeadOfService, Assert.Single(board.RecentBreaches, b => b.ChildId == child).EscalatedTo);
        await _s.Child(child).CheckClock();
        Assert.Single((await _s.TeamGrain(team).GetBoard()).RecentBreaches, b => b.ChildId == child);
    }

    private static async Task<T> WaitAsync<T>(Func<Task<T?>> settled, string failure = "The child and the worker did not agree with the stored state") where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (await settled() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, failure + " within 15 s.");
            await Task.Delay(100);
        }
    }
}

/// <summary>Memory storage that can fail one child's next write (after storing it, or before) and then every read of
/// it, as a database that goes down mid-write does, until healed (or answer the reads at once, as one that is back);
/// and fail the reads a team's board is built from.</summary>
public sealed class FailingStorage(MemoryFactStorage inner) : IGrainStorage, ITeamFacts, IHeldPlaces, IKnownIds, Allocation.Grains.Kpis.IClosedCases, Allocation.Grains.ICommandReceipts
{
    private readonly ConcurrentDictionary<string, bool> _failWrite = new();
    private readonly ConcurrentDictionary<string, bool> _down = new();
    private readonly ConcurrentDictionary<string, bool> _staysDown = new();
    private readonly ConcurrentDictionary<string, bool> _teamsDown = new();

    public void FailChild(string childId, bool afterStoring, bool staysDown = true)
    {
        _staysDown[childId] = staysDown;
        _failWrite[childId] = afterStoring;
    }

    /// <summary>The team's board cannot be built (its facts cannot be read) until <see cref="HealTeam"/>.</summary>
    public void FailTeam(string teamId) => _teamsDown[teamId] = true;

    public void HealTeam(string teamId) => _teamsDown.TryRemove(teamId, out _);

    public void Heal(string childId) => _down.TryRemove(childId, out _);

    public ChildState? StoredChild(string childId)
    {
        var state = new GrainState<ChildState>();
        inner.ReadStateAsync("child", GrainId.Create("child", childId), state).GetAwaiter().GetResult();
        return state.RecordExists ? state.State : null;
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        _down.ContainsKey(Key(grainId)) ? throw new IOException("database down") : inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = Key(grainId);
        if (_down.ContainsKey(key))
        {
            throw new IOException("database down");
        }

        if (_failWrite.TryRemove(key, out var afterStoring))
        {
            if (_staysDown.TryRemove(key, out var staysDown) && staysDown)
            {
                _down[key] = true;
            }

            if (afterStoring)
            {
                await inner.WriteStateAsync(stateName, grainId, grainState);
            }

            throw new IOException("connection lost mid-write");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    public Task<bool> IsStored(GrainId grainId, string stateName) => inner.IsStored(grainId, stateName);

    public Task<IReadOnlyList<Allocation.Grains.Kpis.ClosedCase>> ReadClosed(string teamId, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        inner.ReadClosed(teamId, since, cancellationToken);

    public Task<Allocation.Grains.CommandReceipt?> FindReceipt(GrainId grainId, string requestId) => inner.FindReceipt(grainId, requestId);

    public Task<TeamFacts> Read(string teamId, CancellationToken cancellationToken = default) =>
        _teamsDown.ContainsKey(teamId) ? throw new IOException("database down") : inner.Read(teamId, cancellationToken);

    public Task<IReadOnlyList<CaseEntry>> ReadHeld(string workerId, CancellationToken cancellationToken = default) => inner.ReadHeld(workerId, cancellationToken);

    private static string Key(GrainId grainId) => grainId.Type.ToString() == "child" ? grainId.Key.ToString()! : "";
}

public sealed class FailingStorageCluster : ClusterFixture
{
    /// <summary>The silo's storage (made on first use, so a test that runs alone can reach it before any grain has).</summary>
    public FailingStorage Storage => (FailingStorage)Cluster.Silos[0].SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    protected override void ConfigureSilo(ISiloBuilder silo) =>
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, _) =>
            new FailingStorage(new MemoryFactStorage(sp.GetRequiredService<DeepCopier>())));
}

[CollectionDefinition(Name)]
public sealed class FailingStorageCollection : ICollectionFixture<FailingStorageCluster>
{
    public const string Name = "failing-storage-cluster";
}
