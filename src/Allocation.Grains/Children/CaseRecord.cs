namespace Allocation.Grains.Children;

public enum PlanType
{
    ChildInNeed,
    ChildProtection,
    ChildLookedAfter,
    CareLeaver,
}

/// <summary>
/// The parts of a child's case record that the nightly threshold checks read, as the case management system holds
/// them. Dates are UK calendar dates. Each field is optional: a check is made only where its data is present.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CaseRecord(
    [property: Id(0)] PlanType? Plan = null,
    [property: Id(1)] DateOnly? PlanStartedOn = null,
    /// <summary>When the child's latest statutory visit was due.</summary>
    [property: Id(2)] DateOnly? VisitDueOn = null,
    /// <summary>When that visit was done; null while it has not been.</summary>
    [property: Id(3)] DateOnly? VisitDoneOn = null,
    /// <summary>The latest child and family assessment.</summary>
    [property: Id(4)] DateOnly? AssessmentStartedOn = null,
    [property: Id(5)] DateOnly? AssessmentCompletedOn = null,
    [property: Id(6)] DateOnly? LastSupervisionOn = null,
    [property: Id(7)] DateOnly? LastManagementOversightOn = null,
    /// <summary>When the latest review of the child's plan (a CP review conference, a CLA review) was due, and when held.</summary>
    [property: Id(8)] DateOnly? ReviewDueOn = null,
    [property: Id(9)] DateOnly? ReviewDoneOn = null,
    /// <summary>Whether the child was seen, and seen alone, during the latest assessment (KPI 11c).</summary>
    [property: Id(10)] bool? ChildSeen = null,
    [property: Id(11)] bool? ChildSeenAlone = null,
    /// <summary>The child's previous referral, as the case management system holds it (for children loaded with a history).</summary>
    [property: Id(12)] DateOnly? PreviousReferralOn = null)
{
    /// <summary>A record that contradicts itself, or null when it is consistent.</summary>
    public Refusal? Check()
    {
        if (PlanStartedOn is not null && Plan is null)
        {
            return Refusal.Invalid("case-record", "A plan start date needs a plan type.");
        }

        if (VisitDoneOn is not null && VisitDueOn is null)
        {
            return Refusal.Invalid("case-record", "A visit done date needs the date the visit was due.");
        }

        if (AssessmentCompletedOn is { } completed && (AssessmentStartedOn is not { } started || completed < started))
        {
            return Refusal.Invalid("case-record", "An assessment must start on or before the day it is completed.");
        }

        if (ReviewDoneOn is not null && ReviewDueOn is null)
        {
            return Refusal.Invalid("case-record", "A review held date needs the date the review was due.");
        }

        if (ChildSeenAlone == true && ChildSeen == false)
        {
            return Refusal.Invalid("case-record", "A child seen alone was seen.");
        }

        return null;
    }
}

[GenerateSerializer, Immutable]
public sealed record UpdateCaseRecord(
    [property: Id(0)] string RequestId,
    [property: Id(1)] CaseRecord Record,
    [property: Id(2)] string? By = null,
    [property: Id(3)] ChildExpectation? Expect = null);
