using System.Globalization;
using System.Text.Json;
using Allocation.Grains;
using Allocation.Grains.Boards;
using Allocation.Grains.Children;
using Allocation.Grains.Hosting;
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
/// divides the growth of the managed heap by N. Target: at most 3 KB. Each state is read from System.Text.Json, as
/// the PostgreSQL storage reads it, so each child gets its own copy of every string the way it does in production.
/// <c>--receipts recent</c> makes the two receipts an hour old (inside the retry window) instead of 30 and 90 days.
/// </summary>
public static class GrainMemoryScenario
{
    private const double TargetBytes = 3 * 1024;

    public static async Task<int> Run(string[] args)
    {
        var count = args is ["--children", var n, ..] && int.TryParse(n, CultureInfo.InvariantCulture, out var parsed) ? parsed : 100_000;
        var recentReceipts = Array.IndexOf(args, "--receipts") is var r and >= 0 && r + 1 < args.Length && args[r + 1] == "recent";
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: 11312, gatewayPort: 30312);
            silo.AddAllocationGrains();
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, new TypicalChildStorage(recentReceipts));
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
            $"| memory per active child grain | ≤ 3 KB | {perGrain:0} bytes ({count:N0} activations, managed heap, in process, receipts {(recentReceipts ? "recent" : "old")}) | {Machine.Describe()} | `Allocation.LoadTests memory --children {count}{(recentReceipts ? " --receipts recent" : "")}` | {DateTime.UtcNow:yyyy-MM-dd} |"));
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

    private sealed class TypicalChildStorage(bool recentReceipts) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var stored = stateName == "child" ? JsonSerializer.SerializeToUtf8Bytes(Typical(grainId.Key.ToString()!, recentReceipts)) : null;
            if (stored is not null && JsonSerializer.Deserialize<ChildState>(stored) is T state)
            {
                grainState.State = state;
                grainState.RecordExists = true;
                grainState.ETag = "1";
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        private static ChildState Typical(string id, bool recentReceipts)
        {
            var now = DateTimeOffset.UtcNow;
            var receiptAge = recentReceipts ? TimeSpan.FromHours(1) : TimeSpan.Zero;
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
                    new CommandReceipt(Guid.NewGuid().ToString(), "allocate", recentReceipts ? now - receiptAge : now.AddDays(-89.5), "W-0001", team, 2),
                    new CommandReceipt(Guid.NewGuid().ToString(), "reallocate", recentReceipts ? now - receiptAge : now.AddDays(-30), "W-0002", team, 3),
                ],
                Version = 3,
            };
        }
    }
}
