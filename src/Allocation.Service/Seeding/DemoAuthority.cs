using Allocation.Grains;

namespace Allocation.Service.Seeding;

/// <summary>The shape of <c>seeds/demo-authority.json</c>. Times are relative to start-up, so the demo's clocks
/// are always near or past their deadlines whenever it is started.</summary>
public sealed record DemoAuthority(
    IReadOnlyList<DemoTeam> Teams,
    IReadOnlyList<DemoWorker> Workers,
    IReadOnlyList<DemoChild> Children,
    IReadOnlyList<DemoUserSeed>? Users = null);

/// <summary>A demo user who is not a worker on a team: leaders, administrators, managers of several teams. Workers
/// sign in as themselves (practice managers manage their own team).</summary>
public sealed record DemoUserSeed(string Id, string Name, IReadOnlyList<Security.UserRole> Roles, IReadOnlyList<string>? Teams = null, string? Description = null);

public sealed record DemoTeam(string Id, string Name, decimal? EstablishmentFte = null);

public sealed record DemoWorker(
    string Id, string Name, string TeamId, WorkerRole Role, decimal Fte, int? Ceiling = null, bool Agency = false,
    IReadOnlyList<int>? SupervisionMonthsAgo = null, IReadOnlyList<DemoAbsence>? Absences = null);

/// <summary>Recorded leave in days before start-up (negative: after it, so the forecast sees it coming).</summary>
public sealed record DemoAbsence(double FromDaysAgo, double? ToDaysAgo, string Reason);

public sealed record DemoChild(
    string Id,
    string TeamId,
    double ReferredDaysAgo,
    double ClockStartedHoursAgo,
    IReadOnlyList<DemoPeriod> History,
    DemoOverride? Override = null,
    DemoCaseRecord? CaseRecord = null,
    string? FamilyId = null);

public sealed record DemoPeriod(string WorkerId, double FromDaysAgo, double? ToDaysAgo, string Reason, string? EndReason = null, string? By = null);

public sealed record DemoOverride(string By, string Reason);

/// <summary>A child's case record in days before start-up (negative: after it), turned into UK dates when seeded.</summary>
public sealed record DemoCaseRecord(
    Grains.Children.PlanType? Plan = null,
    double? PlanStartedDaysAgo = null,
    double? VisitDueDaysAgo = null,
    double? VisitDoneDaysAgo = null,
    double? AssessmentStartedDaysAgo = null,
    double? AssessmentCompletedDaysAgo = null,
    double? LastSupervisionDaysAgo = null,
    double? LastManagementOversightDaysAgo = null,
    double? ReviewDueDaysAgo = null,
    double? ReviewDoneDaysAgo = null,
    bool? ChildSeen = null,
    bool? ChildSeenAlone = null);
