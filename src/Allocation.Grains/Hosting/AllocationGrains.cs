using Allocation.Grains.Boards;
using Allocation.Grains.Directory;
using Allocation.Grains.Teams;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Grains.Hosting;

/// <summary>The one way a silo is set up for the allocation grains: by the service, the tests and the load tests.</summary>
public static class AllocationGrains
{
    /// <summary>
    /// What every grain needs besides its storage: the domain clock (the system's unless one is already registered),
    /// the allocation rules' options, board publishing, and the readers of teams' facts, workers' places, closed cases, command receipts and known ids,
    /// which are the grain storage.
    /// </summary>
    public static ISiloBuilder AddAllocationGrains(this ISiloBuilder silo)
    {
        // First of the grain interface type providers: it keeps the answer of Orleans' own (see the class).
        silo.Services.Insert(0, ServiceDescriptor.Singleton<IGrainInterfaceTypeProvider, KnownGrainInterfaceTypes>());
        silo.Services.TryAddKeyedSingleton(AllocationClock.Key, TimeProvider.System);
        silo.Services.AddOptions<AllocationOptions>();
        silo.Services.TryAddSingleton<IBoardPublisher, ObserverBoardPublisher>();
        silo.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name) as ITeamFacts
            ?? throw new InvalidOperationException($"The '{GrainStorage.Name}' grain storage must also read teams' facts ({nameof(ITeamFacts)})."));
        silo.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name) as IKnownIds
            ?? throw new InvalidOperationException($"The '{GrainStorage.Name}' grain storage must also say which ids are stored ({nameof(IKnownIds)})."));
        silo.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name) as Kpis.IClosedCases
            ?? throw new InvalidOperationException($"The '{GrainStorage.Name}' grain storage must also read teams' closed cases ({nameof(Kpis.IClosedCases)})."));
        silo.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name) as ICommandReceipts
            ?? throw new InvalidOperationException($"The '{GrainStorage.Name}' grain storage must also store command receipts ({nameof(ICommandReceipts)})."));
        silo.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name) as SocialWorkers.IHeldPlaces
            ?? throw new InvalidOperationException($"The '{GrainStorage.Name}' grain storage must also read workers' places ({nameof(SocialWorkers.IHeldPlaces)})."));
        return silo;
    }

    /// <summary>Grain state and reminders in memory: the embedded demo and the grain tests.</summary>
    public static ISiloBuilder AddAllocationMemoryStorage(this ISiloBuilder silo)
    {
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, _) => new MemoryFactStorage(sp.GetRequiredService<DeepCopier>()));
        silo.UseInMemoryReminderService();
        return silo;
    }
}
