using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;

namespace Allocation.Tests.Infrastructure;

/// <summary>Builds a small authority with ids unique to one test, and speaks the domain's commands tersely.</summary>
public sealed class Scenario(IGrainFactory grains)
{
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];
    private int _requests;

    public IGrainFactory Grains => grains;

    public string Id(string name) => $"{_prefix}-{name}";

    public string NewRequestId() => $"{_prefix}-r{Interlocked.Increment(ref _requests)}";

    public async Task<string> Team(string name = "team")
    {
        var id = Id(name);
        await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).UpsertTeam(id, name);
        return id;
    }

    public async Task<string> Worker(string name, string teamId, WorkerRole role = WorkerRole.SocialWorker, decimal fte = 1m, int? ceiling = null)
    {
        var id = Id(name);
        var result = await grains.GetGrain<ISocialWorkerGrain>(id).Upsert(new UpsertWorker(name, teamId, role, fte, ceiling));
        Assert.Null(result.Refusal);
        return id;
    }

    public async Task<string> Referred(string name, string teamId)
    {
        var id = Id(name);
        var result = await Child(id).Refer(new ReferChild(NewRequestId(), teamId, "pm"));
        Assert.Null(result.Refusal);
        return id;
    }

    public async Task<string> Allocated(string name, string teamId, string workerId)
    {
        var id = await Referred(name, teamId);
        var result = await Allocate(id, workerId);
        Assert.Null(result.Refusal);
        return id;
    }

    public Task<ChildResult> Allocate(string childId, string workerId, CeilingOverride? ceilingOverride = null) =>
        Child(childId).Allocate(new AllocateChild(NewRequestId(), workerId, "pm", ceilingOverride));

    public IChildGrain Child(string id) => grains.GetGrain<IChildGrain>(id);

    public ISocialWorkerGrain WorkerGrain(string id) => grains.GetGrain<ISocialWorkerGrain>(id);

    public ITeamGrain TeamGrain(string id) => grains.GetGrain<ITeamGrain>(id);

    public async Task<ChildView> View(string childId) => (await Child(childId).Get())!;

    public async Task<WorkerView> WorkerView(string workerId) => (await WorkerGrain(workerId).Get())!;
}
