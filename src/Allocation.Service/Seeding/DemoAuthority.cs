using Allocation.Grains;

namespace Allocation.Service.Seeding;

/// <summary>The shape of <c>seeds/demo-authority.json</c>. Times are relative to start-up, so the demo's clocks
/// are always near or past their deadlines whenever it is started.</summary>
public sealed record DemoAuthority(IReadOnlyList<DemoTeam> Teams, IReadOnlyList<DemoWorker> Workers, IReadOnlyList<DemoChild> Children);

public sealed record DemoTeam(string Id, string Name);

public sealed record DemoWorker(string Id, string Name, string TeamId, WorkerRole Role, decimal Fte, int? Ceiling = null);

public sealed record DemoChild(
    string Id,
    string TeamId,
    double ReferredDaysAgo,
    double ClockStartedHoursAgo,
    IReadOnlyList<DemoPeriod> History,
    DemoOverride? Override = null);

public sealed record DemoPeriod(string WorkerId, double FromDaysAgo, double? ToDaysAgo, string Reason, string? EndReason = null, string? By = null);

public sealed record DemoOverride(string By, string Reason);
