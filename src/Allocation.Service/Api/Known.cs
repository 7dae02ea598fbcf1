using Allocation.Grains.Authority;
using Allocation.Grains.Directory;

namespace Allocation.Service.Api;

/// <summary>Existence checks that never activate the entity's own grain.</summary>
public static class Known
{
    public static Task<bool> Team(IGrainFactory grains, string teamId) =>
        grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).HasTeam(teamId);

    public static Task<bool> Worker(IGrainFactory grains, string workerId) => IdDirectory.Contains(grains, IdKind.Worker, workerId);

    public static Task<bool> Child(IGrainFactory grains, string childId) => IdDirectory.Contains(grains, IdKind.Child, childId);
}
