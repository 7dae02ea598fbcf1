using Allocation.Grains.Children;
using Allocation.Grains.Teams;

namespace Allocation.Grains.Kpis;

/// <summary>What the team grain holds, as the checks read it.</summary>
public sealed record TeamSnapshot(
    decimal? EstablishmentFte,
    IReadOnlyCollection<TeamWorkerSummary> Workers,
    IReadOnlyCollection<TeamChildSummary> Children,
    IReadOnlyList<EscalatedBreach> Breaches);

/// <summary>
/// A team's counts behind the KPIs on one night. Counts rather than percentages, so the authority's figures are
/// the sums of its teams' and never an average of averages.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TeamMeasures(
    [property: Id(0)] int Caseholders,
    [property: Id(1)] int CaseholdersAtOrUnderCeiling,
    [property: Id(2)] int CasesHeld,
    [property: Id(3)] int MaxCaseload,
    [property: Id(4)] int OverridesInForce,
    [property: Id(5)] int OpenChildren,
    [property: Id(6)] int Unallocated,
    [property: Id(7)] double LongestWaitHours,
    [property: Id(8)] int BreachesLastDay,
    [property: Id(9)] int BreachesLastWeek,
    [property: Id(10)] int ChildrenOverWorkerThreshold,
    [property: Id(11)] int NewlyOverWorkerThreshold,
    /// <summary>Null when the establishment is not known; then the two FTE figures below are zero.</summary>
    [property: Id(12)] decimal? EstablishmentFte,
    [property: Id(13)] decimal FilledFte,
    [property: Id(14)] decimal AgencyFte,
    [property: Id(15)] int VisitsDue,
    [property: Id(16)] int VisitsInTimescale,
    [property: Id(17)] int Assessments,
    [property: Id(18)] int AssessmentsInTimescale,
    [property: Id(19)] int SupervisionRecords,
    [property: Id(20)] int SupervisionInTimescale,
    [property: Id(21)] int OversightRecords,
    [property: Id(22)] int OversightInTimescale,
    [property: Id(23)] int CpPlans,
    [property: Id(24)] int CpPlansOver18Months,
    [property: Id(25)] int CinPlans,
    [property: Id(26)] int CinPlansOver2Years)
{
    public static readonly TeamMeasures Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public static TeamMeasures Combine(IEnumerable<TeamMeasures> teams) => teams.Aggregate(Empty, (a, b) => new TeamMeasures(
        a.Caseholders + b.Caseholders,
        a.CaseholdersAtOrUnderCeiling + b.CaseholdersAtOrUnderCeiling,
        a.CasesHeld + b.CasesHeld,
        Math.Max(a.MaxCaseload, b.MaxCaseload),
        a.OverridesInForce + b.OverridesInForce,
        a.OpenChildren + b.OpenChildren,
        a.Unallocated + b.Unallocated,
        Math.Max(a.LongestWaitHours, b.LongestWaitHours),
        a.BreachesLastDay + b.BreachesLastDay,
        a.BreachesLastWeek + b.BreachesLastWeek,
        a.ChildrenOverWorkerThreshold + b.ChildrenOverWorkerThreshold,
        a.NewlyOverWorkerThreshold + b.NewlyOverWorkerThreshold,
        a.EstablishmentFte is null && b.EstablishmentFte is null ? null : (a.EstablishmentFte ?? 0) + (b.EstablishmentFte ?? 0),
        a.FilledFte + b.FilledFte,
        a.AgencyFte + b.AgencyFte,
        a.VisitsDue + b.VisitsDue,
        a.VisitsInTimescale + b.VisitsInTimescale,
        a.Assessments + b.Assessments,
        a.AssessmentsInTimescale + b.AssessmentsInTimescale,
        a.SupervisionRecords + b.SupervisionRecords,
        a.SupervisionInTimescale + b.SupervisionInTimescale,
        a.OversightRecords + b.OversightRecords,
        a.OversightInTimescale + b.OversightInTimescale,
        a.CpPlans + b.CpPlans,
        a.CpPlansOver18Months + b.CpPlansOver18Months,
        a.CinPlans + b.CinPlans,
        a.CinPlansOver2Years + b.CinPlansOver2Years));
}
