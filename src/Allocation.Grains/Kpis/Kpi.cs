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

/// <summary>How a KPI is rated against its target.</summary>
public enum RagRule
{
    /// <summary>Green meets the target; amber misses it by no more than the margin; red misses it by more.</summary>
    Margin,

    /// <summary>
    /// A target for all children (the 24-hour rule): any miss is red. Amber is a warning before the target is missed,
    /// within the margin of it (e.g. a wait of 16 hours or more against 24), as the live clocks show.
    /// </summary>
    AllChildren,
}

/// <summary>How a KPI's figure comes from its tally.</summary>
public enum FigureKind
{
    /// <summary>100 × numerator / denominator.</summary>
    Percent,
    /// <summary>The numerator.</summary>
    Count,
    /// <summary>Numerator / denominator (e.g. children per worker).</summary>
    Average,
    /// <summary>The numerator; the authority's is the largest of its teams'.</summary>
    Max,
    /// <summary>The percentage fall from the previous cohort's share to this cohort's: 100 × (before − now) / before.</summary>
    Decrease,
}

/// <summary>Whose ids are behind a KPI's figure.</summary>
public enum BehindKind
{
    None,
    Children,
    Workers,
}

/// <summary>A KPI of the nightly report, with the improvement plan's number, wording and target where it sets them.</summary>
public sealed record KpiDefinition(
    string Id,
    string Title,
    string Unit,
    KpiDirection Direction,
    decimal? DefaultTarget,
    decimal DefaultAmberMargin,
    /// <summary>Where the KPI comes from: the plan's KPI number (e.g. "KPI 2"), or "Ours" for a measure of our own beside it.</summary>
    string Source,
    /// <summary>The plan's wording (quoted) and how it is counted here.</summary>
    string Definition,
    FigureKind Figure = FigureKind.Percent,
    RagRule Rule = RagRule.Margin,
    BehindKind Behind = BehindKind.None);

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
    /// <summary>For a percentage or an average: what it is of. Null for counts.</summary>
    decimal? Numerator,
    decimal? Denominator,
    /// <summary>Children counted as not in timescale because they have no case record (shown as "no record").</summary>
    int? NoRecord = null,
    /// <summary>For a cohort KPI: the previous cohort's numerator and denominator it is compared with.</summary>
    decimal? PriorNumerator = null,
    decimal? PriorDenominator = null);

public sealed record TeamKpis(string TeamId, string Name, IReadOnlyList<KpiResult> Kpis);

/// <summary>The nightly KPI report: the authority's KPIs and each team's, for one UK calendar date.</summary>
public sealed record ThresholdReport(
    DateOnly Date,
    DateTimeOffset RunAt,
    IReadOnlyList<KpiResult> Authority,
    IReadOnlyList<TeamKpis> Teams);

/// <summary>One night of a KPI's history.</summary>
public sealed record KpiPoint(DateOnly Date, decimal? Value, decimal? Target, Rag Rag);

public static class KpiCatalog
{
    public const string NewCasesOverThreeWorkersDecrease = "newCasesOverThreeWorkersDecrease";
    public const string NewCasesOverThreeWorkers = "newCasesOverThreeWorkers";
    public const string ChildrenOverThreeWorkers = "childrenOverThreeWorkers";
    public const string TransferPointsPerChild = "transferPointsPerChild";
    public const string Caseloads18OrLess = "caseloads18OrLess";
    public const string CaseloadsAtOrUnderCeiling = "caseloadsAtOrUnderCeiling";
    public const string AverageCaseload = "averageCaseload";
    public const string MaxCaseload = "maxCaseload";
    public const string OverridesInForce = "overridesInForce";
    public const string ReReferralsWithin12Months = "reReferralsWithin12Months";
    public const string UnallocatedNow = "unallocatedNow";
    public const string LongestWaitHours = "longestWaitHours";
    public const string BreachesLastDay = "breachesLastDay";
    public const string BreachesLastWeek = "breachesLastWeek";
    public const string VisitsInTimescale = "visitsInTimescale";
    public const string VisitsInTimescaleCp = "visitsInTimescaleCp";
    public const string VisitsInTimescaleCin = "visitsInTimescaleCin";
    public const string VisitsInTimescaleCla = "visitsInTimescaleCla";
    public const string AssessmentsIn45WorkingDays = "assessmentsIn45WorkingDays";
    public const string ChildrenSeenInAssessment = "childrenSeenInAssessment";
    public const string ChildrenSeenAloneInAssessment = "childrenSeenAloneInAssessment";
    public const string CpPlansReviewedInTimescale = "cpPlansReviewedInTimescale";
    public const string CpPlansOver18Months = "cpPlansOver18Months";
    public const string CinPlansOver2Years = "cinPlansOver2Years";
    public const string ClaReviewsInTimescale = "claReviewsInTimescale";
    public const string SupervisionIn6Weeks = "supervisionIn6Weeks";
    public const string StaffSupervisedThreeMonths = "staffSupervisedThreeMonths";
    public const string OversightIn6Weeks = "oversightIn6Weeks";
    public const string Vacancy = "vacancy";
    public const string AgencyShare = "agencyShare";
    public const string OverEstablishment = "overEstablishment";

    /// <summary>
    /// Every KPI, in report order (the plan's order, ours beside the plan's). Targets are plan 002's where it sets one;
    /// the 24-hour rule ("all children", action 9.5.2) gives the wait and breach targets; the rest are reported
    /// without a rating until the authority sets a target.
    /// </summary>
    public static readonly IReadOnlyList<KpiDefinition> All =
    [
        new(NewCasesOverThreeWorkersDecrease, "Decrease in new cases with more than 3 social workers in 12 months", "%", KpiDirection.HigherIsBetter, 5m, 2.5m, "KPI 1",
            "\"% decrease of new cases with more than 3 social workers in the next 12 months\" (target 5%, then a further 5%). Cohorts: children referred in a calendar quarter, each followed for the 12 months from referral; the latest quarter whose 12 months are over is compared with the quarter before it.",
            FigureKind.Decrease, Behind: BehindKind.Children),
        new(NewCasesOverThreeWorkers, "New cases with more than 3 social workers in 12 months", "%", KpiDirection.LowerIsBetter, null, 2m, "KPI 1",
            "The cohort behind KPI 1: of the children referred in the latest quarter whose 12 months are over, the share who had more than 3 distinct social workers in the 12 months from referral (closed cases included).",
            Behind: BehindKind.Children),
        new(ChildrenOverThreeWorkers, "Open children with more than 3 workers in a rolling 12 months", "%", KpiDirection.LowerIsBetter, null, 2m, "Ours",
            "Beside KPI 1: of the children open tonight, the share with more than 3 distinct workers in the 12 months to tonight.",
            Behind: BehindKind.Children),
        new(TransferPointsPerChild, "Transfer points per child in 12 months", "per child", KpiDirection.LowerIsBetter, null, 0.1m, "Area 1",
            "\"Reducing the number of transfer points for children\": transfers between teams in the last 12 months, per open child.",
            FigureKind.Average, Behind: BehindKind.Children),
        new(Caseloads18OrLess, "Worker caseloads of 18 or less", "%", KpiDirection.HigherIsBetter, 85m, 5m, "KPI 2",
            "\"% of worker caseloads of 18 or less\" (target 85%): workers holding cases (not leavers, not managers without cases) whose caseload is 18 children or fewer, whatever their FTE.",
            Behind: BehindKind.Workers),
        new(CaseloadsAtOrUnderCeiling, "Worker caseloads at or under own ceiling", "%", KpiDirection.HigherIsBetter, 85m, 5m, "Ours",
            "Beside KPI 2, stricter: workers at or under their own ceiling (18 pro rata by FTE, lower for NQSWs).",
            Behind: BehindKind.Workers),
        new(AverageCaseload, "Average caseload", "children", KpiDirection.LowerIsBetter, null, 2m, "KPI 58",
            "\"Average case load report\": children held per worker holding cases.", FigureKind.Average),
        new(MaxCaseload, "Largest caseload", "children", KpiDirection.LowerIsBetter, null, 2m, "KPI 58",
            "The largest caseload a worker holds.", FigureKind.Max, Behind: BehindKind.Workers),
        new(OverridesInForce, "Allocations over ceiling by override", "children", KpiDirection.LowerIsBetter, null, 2m, "Ours",
            "Children allocated above their worker's ceiling by a senior leader's override, still in force.", FigureKind.Count, Behind: BehindKind.Workers),
        new(ReReferralsWithin12Months, "Re-referrals within 12 months", "%", KpiDirection.LowerIsBetter, 25m, 5m, "KPI 3",
            "\"Re-referrals within the last 12 months\" (target 25%): of the referrals in the last 12 months, the share made within 12 months of the child's previous referral.",
            Behind: BehindKind.Children),
        new(UnallocatedNow, "Children unallocated now", "children", KpiDirection.LowerIsBetter, null, 5m, "Action 9.5.2",
            "Children in a team's queue without a worker tonight.", FigureKind.Count, Behind: BehindKind.Children),
        new(LongestWaitHours, "Longest wait for a worker", "hours", KpiDirection.LowerIsBetter, 24m, 8m, "Action 9.5.2",
            "\"All children to have an allocated social worker within 24 hours of being allocated to a team\": the longest wait tonight. Any wait over 24 hours is red; amber within 8 hours of it, as the live clocks.",
            FigureKind.Max, RagRule.AllChildren, BehindKind.Children),
        new(BreachesLastDay, "24-hour breaches in the last day", "breaches", KpiDirection.LowerIsBetter, 0m, 0m, "Action 9.5.2",
            "Children not allocated within 24 hours, breaches recorded in the last day. The target is all children: any breach is red.",
            FigureKind.Count, RagRule.AllChildren, BehindKind.Children),
        new(BreachesLastWeek, "24-hour breaches in the last week", "breaches", KpiDirection.LowerIsBetter, 0m, 0m, "Action 9.5.2",
            "As above, over the last 7 days: any breach is red.", FigureKind.Count, RagRule.AllChildren, BehindKind.Children),
        new(VisitsInTimescale, "Statutory visits in timescale", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11a",
            "\"% of stat visits for CP, CIN and CLA in timescale\" (target 95%), all plans: open children whose latest visit is due, done on or before the day it was due. No case record counts as not in timescale (\"no record\").",
            Behind: BehindKind.Children),
        new(VisitsInTimescaleCp, "Statutory visits in timescale: CP", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11a",
            "KPI 11a for children on a child protection plan.", Behind: BehindKind.Children),
        new(VisitsInTimescaleCin, "Statutory visits in timescale: CIN", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11a",
            "KPI 11a for children on a child in need plan.", Behind: BehindKind.Children),
        new(VisitsInTimescaleCla, "Statutory visits in timescale: CLA", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11a",
            "KPI 11a for children looked after.", Behind: BehindKind.Children),
        new(AssessmentsIn45WorkingDays, "Assessments within 45 working days", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11b",
            "\"% of Child & Family Assessments completed in maximum 45 working days\" (target 95%): assessments completed in the reporting period (the 30 days to the report), closed cases included; working days exclude weekends and bank holidays.",
            Behind: BehindKind.Children),
        new(ChildrenSeenInAssessment, "Children seen during the assessment", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 11c",
            "\"% of children seen during the Child & Family Assessment\" (target 95%): of the assessments completed in the reporting period; not recorded counts as not seen.",
            Behind: BehindKind.Children),
        new(ChildrenSeenAloneInAssessment, "Children seen alone during the assessment", "%", KpiDirection.HigherIsBetter, 70m, 5m, "KPI 11c",
            "\"Seen alone\" (target 70%): of the assessments completed in the reporting period; not recorded counts as not seen alone.",
            Behind: BehindKind.Children),
        new(CpPlansReviewedInTimescale, "CP plans reviewed in timescale", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 26",
            "\"% of CIN, CP, CLA, pathway plans in place and reviewed\" (target 95%), for child protection plans: open CP plans whose latest review is due, reviewed on or before the day it was due.",
            Behind: BehindKind.Children),
        new(CpPlansOver18Months, "Child protection plans over 18 months", "%", KpiDirection.LowerIsBetter, 10m, 5m, "KPI 27",
            "\"% of children subject to CP plans longer than 18 months\" (target 10%; also Devon audit 003).", Behind: BehindKind.Children),
        new(CinPlansOver2Years, "Child in need plans over 2 years", "%", KpiDirection.LowerIsBetter, null, 5m, "KPI 28",
            "\"% of children subject to CIN plans longer than 2 years\" (target to be confirmed).", Behind: BehindKind.Children),
        new(ClaReviewsInTimescale, "CLA reviews in timescale", "%", KpiDirection.HigherIsBetter, 90m, 5m, "KPI 34",
            "\"% of CLA reviews in timescale\" (target 90%): children looked after whose latest review is due, held on or before the day it was due.",
            Behind: BehindKind.Children),
        new(SupervisionIn6Weeks, "Cases with supervision within 6 weeks", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 42",
            "\"% of open cases with an up to date supervision recorded within 6 weeks\" (target 95%): open allocated cases; a case allocated within the last 6 weeks is not yet due; no case record counts as not recorded (\"no record\").",
            Behind: BehindKind.Children),
        new(StaffSupervisedThreeMonths, "Staff supervised in each of the last 3 months", "%", KpiDirection.HigherIsBetter, 95m, 5m, "KPI 43",
            "\"% of staff who have supervision recorded in the last three consecutive months\" (target 95%): workers holding cases with a supervision in each of the last three whole calendar months.",
            Behind: BehindKind.Workers),
        new(OversightIn6Weeks, "Cases with management oversight within 6 weeks", "%", KpiDirection.HigherIsBetter, 90m, 5m, "KPI 45",
            "\"Percentage of open cases with management oversight recorded in the last 6 weeks\" (target 90%): counted as KPI 42.",
            Behind: BehindKind.Children),
        new(Vacancy, "Vacancy rate", "%", KpiDirection.LowerIsBetter, 10m, 5m, "KPI 54",
            "\"Vacancy gap to be less than 10%\": funded FTE not filled by permanent staff, over funded FTE. Agency staff \"fill the remaining vacancy gap\" (2.3), so posts they cover are still vacant.",
            Behind: BehindKind.Workers),
        new(AgencyShare, "Agency share", "%", KpiDirection.LowerIsBetter, 5m, 5m, "KPI 55",
            "\"Reduction of agency staff by March 2020 to 5%\": agency FTE over FTE in post.", Behind: BehindKind.Workers),
        new(OverEstablishment, "Over establishment", "%", KpiDirection.LowerIsBetter, null, 5m, "KPI 56",
            "\"Over establishment rates in line with NQSW's\": FTE in post (agency included) above funded FTE, over funded FTE; reported apart from vacancy, never netted against it."),
    ];

    public static KpiDefinition? Find(string id) => All.FirstOrDefault(k => string.Equals(k.Id, id, StringComparison.OrdinalIgnoreCase));
}
