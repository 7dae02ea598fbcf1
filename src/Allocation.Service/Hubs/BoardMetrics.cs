using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Allocation.Grains.Boards;

namespace Allocation.Service.Hubs;

/// <summary>
/// The live boards as this host sees them: pushes sent and how long after the change, 24-hour breaches raised, and the
/// 24-hour clocks running (children waiting for allocation) as of each team's last change. Every host receives every
/// change, so sum the per-host figures only for pushes, and take one host's for breaches and clocks.
/// </summary>
public sealed class BoardMetrics
{
    public const string MeterName = "Allocation.Boards";

    private readonly Counter<long> _pushes;
    private readonly Histogram<double> _delay;
    private readonly Counter<long> _breaches;
    private readonly ConcurrentDictionary<string, int> _waiting = new();

    public BoardMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _pushes = meter.CreateCounter<long>("allocation.board.pushes", "{push}", "Board changes pushed to this host's clients, by board.");
        _delay = meter.CreateHistogram<double>("allocation.board.push.delay", "ms", "From a team's change to its push from this host.");
        _breaches = meter.CreateCounter<long>("allocation.breaches", "{breach}", "24-hour breaches raised (a child not allocated in time).");
        meter.CreateObservableGauge("allocation.clocks.running", () => _waiting.Values.Sum(), "{clock}",
            "Children waiting for allocation with a 24-hour clock running, as of each team's last change.");
    }

    public void TeamPushed(TeamBoardDelta delta, DateTimeOffset now)
    {
        _pushes.Add(1, new KeyValuePair<string, object?>("board", "team"));
        _waiting[delta.TeamId] = delta.Pressure.Unallocated;
        if (delta.Breaches.Count > 0)
        {
            _breaches.Add(delta.Breaches.Count);
        }

        if (delta.Feed.Count > 0)
        {
            _delay.Record(Math.Max(0, (now - delta.Feed.Max(f => f.At)).TotalMilliseconds));
        }
    }

    public void Pushed(string board) => _pushes.Add(1, new KeyValuePair<string, object?>("board", board));
}
