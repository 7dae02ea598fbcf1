using System.Diagnostics.Metrics;

namespace Allocation.Service.Audit;

/// <summary>
/// What commands did, counted where each outcome is already decided for the audit trail: allocations made, and
/// commands refused by a rule (409) or by access (403), by rule.
/// </summary>
public sealed class CommandMetrics
{
    public const string MeterName = "Allocation.Commands";

    private static readonly HashSet<string> Allocating = ["child.allocate", "child.reallocate"];

    private readonly Counter<long> _allocations;
    private readonly Counter<long> _refusals;

    public CommandMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _allocations = meter.CreateCounter<long>("allocation.allocations", "{allocation}", "Children allocated, or moved, to a worker.");
        _refusals = meter.CreateCounter<long>("allocation.refusals", "{command}", "Commands refused, by action, outcome and rule.");
    }

    public void Record(string action, AuditOutcome outcome, string? rule)
    {
        switch (outcome)
        {
            case AuditOutcome.Accepted when Allocating.Contains(action):
                _allocations.Add(1, new KeyValuePair<string, object?>("action", action));
                break;
            case AuditOutcome.Refused or AuditOutcome.Forbidden:
                _refusals.Add(1, new("action", action), new("outcome", outcome.ToString()), new("rule", rule ?? "none"));
                break;
        }
    }
}
