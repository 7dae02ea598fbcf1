using Allocation.Grains.Children;
using Allocation.Grains.Hosting;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;

namespace Allocation.Tests.Hosting;

/// <summary><see cref="KnownGrainInterfaceTypes"/>: each grain interface's type is worked out once, and is the one
/// Orleans' own providers give.</summary>
[Collection(ClusterCollection.Name)]
public class GrainInterfaceTypeTests(ClusterFixture fixture)
{
    private IServiceProvider Silo => fixture.Cluster.Silos[0].SiloHost.Services;

    [Fact]
    public void The_silo_answers_each_grain_interface_as_Orleans_own_providers_do()
    {
        var providers = Silo.GetServices<IGrainInterfaceTypeProvider>().ToArray();
        Assert.IsType<KnownGrainInterfaceTypes>(providers[0]);
        var orleans = new GrainInterfaceTypeResolver(providers.Skip(1), Silo.GetRequiredService<TypeConverter>());
        var silo = Silo.GetRequiredService<GrainInterfaceTypeResolver>();
        var interfaces = typeof(IChildGrain).Assembly.GetTypes()
            .Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t) && !t.ContainsGenericParameters).ToArray();
        Assert.True(interfaces.Length >= 6, $"only {interfaces.Length} grain interfaces found");

        foreach (var type in interfaces.Concat(interfaces))
        {
            Assert.Equal(orleans.GetGrainInterfaceType(type), silo.GetGrainInterfaceType(type));
        }
    }

    [Fact]
    public async Task A_grain_reached_through_it_is_the_grain_Orleans_names()
    {
        var scenario = new Scenario(fixture.Grains);
        var team = await scenario.Team();
        var reference = fixture.Grains.GetGrain<Allocation.Grains.Teams.ITeamGrain>(team);

        Assert.Equal(team, reference.GetPrimaryKeyString());
        Assert.Equal(Silo.GetRequiredService<GrainInterfaceTypeResolver>().GetGrainInterfaceType(typeof(Allocation.Grains.Teams.ITeamGrain)),
            ((GrainReference)(object)reference).InterfaceType);
        Assert.NotNull(await reference.GetBoard());
    }

    [Fact]
    public void Each_interface_is_asked_of_the_other_providers_once()
    {
        var counting = new CountingProvider();
        var services = new ServiceCollection()
            .AddSingleton<IGrainInterfaceTypeProvider>(counting)
            .AddSingleton(Silo.GetRequiredService<TypeConverter>())
            .BuildServiceProvider();
        var known = new KnownGrainInterfaceTypes(services);

        Assert.True(known.TryGetGrainInterfaceType(typeof(IChildGrain), out var first));
        Assert.True(known.TryGetGrainInterfaceType(typeof(IChildGrain), out var second));
        Assert.True(known.TryGetGrainInterfaceType(typeof(Allocation.Grains.Teams.ITeamGrain), out var team));

        Assert.Equal(first, second);
        Assert.NotEqual(first, team);
        Assert.Equal(new GrainInterfaceTypeResolver([], Silo.GetRequiredService<TypeConverter>()).GetGrainInterfaceType(typeof(IChildGrain)), first);
        Assert.Equal(2, counting.Calls);
    }

    /// <summary>A provider that knows no interface and counts how often it is asked.</summary>
    private sealed class CountingProvider : IGrainInterfaceTypeProvider
    {
        public int Calls { get; private set; }

        public bool TryGetGrainInterfaceType(Type type, out GrainInterfaceType grainInterfaceType)
        {
            Calls++;
            grainInterfaceType = default;
            return false;
        }
    }
}
