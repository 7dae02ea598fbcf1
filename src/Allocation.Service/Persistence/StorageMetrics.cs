using System.Diagnostics.Metrics;

namespace Allocation.Service.Persistence;

/// <summary>
/// Group commit as PostgreSQL sees it, per queue (<c>grain-state</c>, <c>audit</c>): items per batch, the batch's
/// commit time, and how long an item waited from being queued to being durable, which for the audit queue is the
/// audit trail's lag behind the commands. Kept on the queue, so it survives changes to what is stored.
/// </summary>
internal static class StorageMetrics
{
    public const string MeterName = "Allocation.Storage";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "allocation.storage.batch.size", "{item}", "Items committed together in one transaction.");

    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>(
        "allocation.storage.commit.duration", "ms", "Time to commit one batch.");

    public static readonly Histogram<double> Wait = Meter.CreateHistogram<double>(
        "allocation.storage.wait", "ms", "From an item being queued to its batch being durable (for the audit queue: the audit trail's lag).");
}
