namespace Allocation.Grains.Kpis;

public enum KpiDirection
{
    HigherIsBetter,
    LowerIsBetter,
}

public enum Rag
{
    /// <summary>Not rated: the KPI has no target, or there was no data for it.</summary>
    None,
    Green,
    Amber,
    Red,
}

public enum Trend
{
    /// <summary>No previous value to compare with.</summary>
    None,
    Better,
    Same,
    Worse,
}

/// <summary>A KPI of the nightly report, with the improvement plan's target where it sets one.</summary>
public sealed record KpiDefinition(
    string Id,
    string Title,
    string Unit,
    KpiDirection Direction,
    decimal? DefaultTarget,
    decimal DefaultAmberMargin,
    string Source);

/// <summary>An authority's own target for a KPI (configuration <c>NightlyChecks:Targets:{kpiId}</c>); unset parts keep the default.</summary>
public sealed class KpiTarget
{
    public decimal? Target { get; set; }

    public decimal? AmberMargin { get; set; }
}

/// <summary>One KPI's figure for a team or the authority on one night.</summary>
public sealed record KpiResult(
    string Id,
    string Title,
    string Unit,
    KpiDirection Direction,
    decimal? Value,
    decimal? Target,
    decimal AmberMargin,
    Rag Rag,
    decimal? Previous,
    Rag? PreviousRag,
    Trend Trend,
    /// <summary>For a percentage: what it is of. Null for counts and averages.</summary>
    int? Numerator,
    int? Denominator);

public sealed record TeamKpis(string TeamId, string Name, IReadOnlyList<KpiResult> Kpis);

/// <summary>The nightly threshold report: the authority's KPIs and each team's, for one UK calendar date.</summary>
public sealed record ThresholdReport(
    DateOnly Date,
    DateTimeOffset RunAt,
    IReadOnlyList<KpiResult> Authority,
    IReadOnlyList<TeamKpis> Teams);

/// <summary>One night of a KPI's history.</summary>
public sealed record KpiPoint(DateOnly Date, decimal? Value, decimal? Target, Rag Rag);

public static class KpiCatalog
{
    public const string CaseloadsAtOrUnderCeiling = "caseloadsAtOrUnderCeiling";
    public const string AverageCaseload = "averageCaseload";
    public const string MaxCaseload = "maxCaseload";
    public const string OverridesInForce = "overridesInForce";
    public const string UnallocatedNow = "unallocatedNow";
    public const string LongestWaitHours = "longestWaitHours";
    public const string BreachesLastDay = "breachesLastDay";
    public const string BreachesLastWeek = "breachesLastWeek";
    public const string ChildrenOverThreeWorkers = "childrenOverThreeWorkers";
    public const string NewlyOverThreeWorkers = "newlyOverThreeWorkers";
    public const string Vacancy = "vacancy";
    public const string AgencyShare = "agencyShare";
    public const string VisitsInTimescale = "visitsInTimescale";
    public const string AssessmentsIn45WorkingDays = "assessmentsIn45WorkingDays";
    public const string SupervisionIn6Weeks = "supervisionIn6Weeks";
    public const string OversightIn6Weeks = "oversightIn6Weeks";
    public const string CpPlansOver18Months = "cpPlansOver18Months";
    public const string CinPlansOver2Years = "cinPlansOver2Years";

    /// <summary>
    /// Every KPI, in report order. Targets are plan 002's where it sets one; the 24-hour rule gives the wait and
    /// breach targets; the rest are reported without a rating until the authority sets a target.
    /// </summary>
    public static readonly IReadOnlyList<KpiDefinition> All =
    [
        new(CaseloadsAtOrUnderCeiling, "Worker caseloads at or under ceiling", "%", KpiDirection.HigherIsBetter, 85m, 5m, "Plan 002 KPI 2"),
        new(AverageCaseload, "Average caseload", "children", KpiDirection.LowerIsBetter, null, 2m, "Plan 002 KPI 2"),
        new(MaxCaseload, "Largest caseload", "children", KpiDirection.LowerIsBetter, null, 2m, "Plan 002 KPI 2"),
        new(OverridesInForce, "Allocations over ceiling by override", "children", KpiDirection.LowerIsBetter, null, 2m, "Rule 2"),
        new(UnallocatedNow, "Children unallocated now", "children", KpiDirection.LowerIsBetter, null, 5m, "Plan 002 action 9.5.2"),
        new(LongestWaitHours, "Longest wait for a worker", "hours", KpiDirection.LowerIsBetter, 24m, 8m, "Plan 002 action 9.5.2"),
        new(BreachesLastDay, "24-hour breaches in the last day", "breaches", KpiDirection.LowerIsBetter, 0m, 1m, "Plan 002 action 9.5.2"),
        new(BreachesLastWeek, "24-hour breaches in the last week", "breaches", KpiDirection.LowerIsBetter, 0m, 3m, "Plan 002 action 9.5.2"),
        new(ChildrenOverThreeWorkers, "Children with more than 3 workers in 12 months", "%", KpiDirection.LowerIsBetter, null, 2m, "Plan 002 KPI 1"),
        new(NewlyOverThreeWorkers, "Children newly over 3 workers in the last day", "children", KpiDirection.LowerIsBetter, null, 1m, "Plan 002 KPI 1"),
        new(Vacancy, "Vacancy rate", "%", KpiDirection.LowerIsBetter, 10m, 5m, "Plan 002 area 10"),
        new(AgencyShare, "Agency share", "%", KpiDirection.LowerIsBetter, 5m, 5m, "Plan 002 area 10"),
        new(VisitsInTimescale, "Statutory visits in timescale", "%", KpiDirection.HigherIsBetter, 95m, 5m, "Plan 002"),
        new(AssessmentsIn45WorkingDays, "Assessments within 45 working days", "%", KpiDirection.HigherIsBetter, 95m, 5m, "Plan 002"),
        new(SupervisionIn6Weeks, "Supervision recorded within 6 weeks", "%", KpiDirection.HigherIsBetter, 95m, 5m, "Plan 002"),
        new(OversightIn6Weeks, "Management oversight within 6 weeks", "%", KpiDirection.HigherIsBetter, 90m, 5m, "Plan 002"),
        new(CpPlansOver18Months, "Child protection plans over 18 months", "%", KpiDirection.LowerIsBetter, 10m, 5m, "Plan 002; Devon audit 003"),
        new(CinPlansOver2Years, "Child in need plans over 2 years", "%", KpiDirection.LowerIsBetter, null, 5m, "Plan 002"),
    ];

    public static KpiDefinition? Find(string id) => All.FirstOrDefault(k => string.Equals(k.Id, id, StringComparison.OrdinalIgnoreCase));
}
