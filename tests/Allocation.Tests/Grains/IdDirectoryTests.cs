using Allocation.Grains.Directory;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Grains;

/// <summary>The existence check's memory: an id once found (or created) is not looked up again, per kind.</summary>
[Collection(ClusterCollection.Name)]
public class IdDirectoryTests(ClusterFixture fixture)
{
    [Fact]
    public async Task An_id_remembered_as_found_is_known_without_a_lookup_and_only_for_its_kind()
    {
        var id = $"remembered-{Guid.NewGuid():N}";
        Assert.False(await IdDirectory.Contains(fixture.Grains, IdKind.Child, id));

        IdDirectory.Found(fixture.Grains, IdKind.Child, id);
        IdDirectory.Found(fixture.Grains, IdKind.Child, id);

        // Never stored: only the memory can say so.
        Assert.True(await IdDirectory.Contains(fixture.Grains, IdKind.Child, id));
        Assert.False(await IdDirectory.Contains(fixture.Grains, IdKind.Worker, id));
    }

    [Fact]
    public async Task A_stored_child_is_found_and_an_unknown_one_is_not()
    {
        var s = new Scenario(fixture.Grains);
        var team = await s.Team();
        var child = await s.Referred("found", team);

        Assert.True(await IdDirectory.Contains(fixture.Grains, IdKind.Child, child));
        Assert.False(await IdDirectory.Contains(fixture.Grains, IdKind.Child, $"{child}-unknown"));
    }
}
