using Allocation.Grains;
using Allocation.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Allocation.Tests.Infrastructure;

/// <summary>
/// One in-process Orleans cluster with memory storage and in-memory reminders, shared by the grain tests.
/// The domain clock is fake: tests move it instead of sleeping. Tests use unique ids, so they never share state.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The closed cases the silo's grain storage recorded.</summary>
    public Allocation.Grains.Kpis.IClosedCases ClosedCases => Cluster.Silos[0].SiloHost.Services.GetRequiredService<Allocation.Grains.Kpis.IClosedCases>();

    protected virtual void Configure(AllocationOptions options)
    {
    }

    protected virtual TimeProvider DomainTime => Time;

    /// <summary>After the standard setup: a fixture may replace a service (say, the grain storage).</summary>
    protected virtual void ConfigureSilo(ISiloBuilder silo)
    {
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddKeyedSingleton(AllocationClock.Key, DomainTime);
            silo.AddAllocationGrains().AddAllocationMemoryStorage();
            silo.Services.AddOptions<AllocationOptions>().Configure(Configure);
            ConfigureSilo(silo);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>A cluster on real time with a 3-second allocation window, to watch the team's clock watch fire.</summary>
public sealed class RealTimeClusterFixture : ClusterFixture
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    protected override TimeProvider DomainTime => TimeProvider.System;

    protected override void Configure(AllocationOptions options)
    {
        options.AllocationWindow = Window;
        options.AmberThreshold = TimeSpan.FromSeconds(1);
    }
}

[CollectionDefinition(Name)]
public sealed class RealTimeClusterCollection : ICollectionFixture<RealTimeClusterFixture>
{
    public const string Name = "realtime-cluster";
}
