using System.Globalization;
using Allocation.Grains;
using Allocation.Grains.Boards;
using Allocation.Grains.Children;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;

namespace Allocation.LoadTests;

/// <summary>
/// Memory per active child grain: activates N children in a local silo, each loading a typical allocated child's
/// state (two workers in its history, two command receipts) from a storage provider that keeps nothing itself, and
/// divides the growth of the managed heap by N. Target: at most 3 KB.
/// </summary>
public static class GrainMemoryScenario
{
    private const double TargetBytes = 3 * 1024;

    public static async Task<int> Run(string[] args)
    {
        var count = args is ["--children", var n, ..] && int.TryParse(n, CultureInfo.InvariantCulture, out var parsed) ? parsed : 100_000;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOptions<AllocationOptions>();
        builder.Services.AddKeyedSingleton(AllocationClock.Key, TimeProvider.System);
        builder.Services.AddBoardPublishing();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: 11312, gatewayPort: 30312);
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, new TypicalChildStorage());
            // Nothing may be collected while it is measured.
            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(1));
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();

        // Warm the runtime's own caches with a first batch that is not counted.
        await Activate(grains, "warm", 2_000);
        var before = Heap();
        await Activate(grains, "c", count);
        var after = Heap();
        var perGrain = (after - before) / (double)count;
        await host.StopAsync();

        var pass = perGrain <= TargetBytes;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count:N0} child grains active: managed heap +{(after - before) / 1048576.0:0.0} MB, {perGrain:0} bytes each ({(pass ? "pass" : "FAIL")}, target {TargetBytes:0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| memory per active child grain | ≤ 3 KB | {perGrain:0} bytes ({count:N0} activations, managed heap, in process) | {Machine.Describe()} | `Allocation.LoadTests memory --children {count}` | {DateTime.UtcNow:yyyy-MM-dd} |"));
        return pass ? 0 : 1;
    }

    private static async Task Activate(IGrainFactory grains, string prefix, int count) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            if (await grains.GetGrain<IChildGrain>($"{prefix}-{i}").Get() is null)
            {
                throw new InvalidOperationException("the child did not load its state");
            }
        });

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private sealed class TypicalChildStorage : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (stateName == "child" && Typical(grainId.Key.ToString()!) is T state)
            {
                grainState.State = state;
                grainState.RecordExists = true;
                grainState.ETag = "1";
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        private static ChildState Typical(string id)
        {
            var now = DateTimeOffset.UtcNow;
            var team = "T-" + (id.GetHashCode() & 63);
            return new ChildState
            {
                Exists = true,
                Status = ChildStatus.Allocated,
                TeamId = team,
                WorkerId = "W-" + (id.GetHashCode() & 1023),
                Episode = 1,
                ReferredAt = now.AddDays(-90),
                ClockStartedAt = now.AddDays(-90),
                Deadline = now.AddDays(-89),
                ClockReason = "referral",
                ClockStoppedAt = now.AddDays(-89.5),
                WorkerHistory =
                [
                    new WorkerPeriod("W-0001", team, now.AddDays(-89.5), now.AddDays(-30), "allocation", "PM-1", "caseload rebalanced"),
                    new WorkerPeriod("W-" + (id.GetHashCode() & 1023), team, now.AddDays(-30), null, "caseload rebalanced", "PM-1"),
                ],
                LastWorkerId = "W-" + (id.GetHashCode() & 1023),
                WorkerChanges = 1,
                Receipts =
                [
                    new CommandReceipt(Guid.NewGuid().ToString(), "allocate", now.AddDays(-89.5), "W-0001", team, 2),
                    new CommandReceipt(Guid.NewGuid().ToString(), "reallocate", now.AddDays(-30), "W-0002", team, 3),
                ],
                Version = 3,
            };
        }
    }
}
