using System.Diagnostics.Metrics;

namespace Allocation.Service.Hosting;

/// <summary>
/// What the managed heap still held after its last full (generation 2) collection: the bytes that survived it. This is
/// the figure that shows a leak. The resident set and the heap's size between collections also carry garbage the
/// collector has not yet reclaimed (objects that lived long enough to reach generation 2, such as receipts kept for
/// minutes, wait there for the next full collection), so they rise and fall with the collector's timing. Zero until
/// the first full collection. The runtime's own instruments (<c>System.Runtime</c>: heap sizes by generation,
/// collections, working set) are exported beside it.
/// </summary>
internal static class MemoryMetrics
{
    public const string MeterName = "Allocation.Memory";

    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>The meter; naming it to OpenTelemetry (rather than the constant) also creates its instruments.</summary>
    public static readonly Meter Meter = new(MeterName);

    public static readonly ObservableGauge<long> LiveAfterFullCollection = Meter.CreateObservableGauge(
        "allocation.memory.live_after_full_gc", LiveBytes, "By", "Managed heap bytes that survived the last full (generation 2) collection.");

    public static readonly ObservableCounter<long> FullCollections = Meter.CreateObservableCounter(
        "allocation.memory.full_gc", () => (long)GC.CollectionCount(2), "{collection}", "Full (generation 2) collections since start.");

    private static long LiveBytes()
    {
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var last = background.Index >= blocking.Index ? background : blocking;
        return last.Index == 0 ? 0 : last.PromotedBytes;
    }
}
