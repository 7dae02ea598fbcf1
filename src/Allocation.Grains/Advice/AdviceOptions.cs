namespace Allocation.Grains.Advice;

/// <summary>
/// How the recommendation weighs each reason (configuration section <c>Advice</c>). A worker's score is the sum of
/// the points of its reasons; the defaults make a return to a previous worker outweigh room, and a brother's or
/// sister's worker nearly so. Rules come first whatever the weights: a worker who cannot take the child is never
/// ranked above one who can.
/// </summary>
public sealed class AdviceOptions
{
    public const string SectionName = "Advice";

    /// <summary>Points for a worker with every place free; a worker with half their places free gets half.</summary>
    public double Room { get; set; } = 2.0;

    /// <summary>A newly qualified worker's room counts at this fraction, keeping first-year caseloads reduced.</summary>
    public double NewlyQualifiedRoomFactor { get; set; } = 0.5;

    /// <summary>Points for a worker the child had in the worker-change window: a return is not a change.</summary>
    public double Continuity { get; set; } = 3.0;

    /// <summary>The same, for a child already over the worker-change flag: then continuity weighs most.</summary>
    public double ContinuityWhenFlagged { get; set; } = 6.0;

    /// <summary>Points off a new worker who would take the child over the flag (or further over it).</summary>
    public double NewWorkerOverFlag { get; set; } = 2.0;

    /// <summary>Points for a worker who already holds a brother or sister of the child (same family id).</summary>
    public double Siblings { get; set; } = 2.5;

    /// <summary>Points per 0.1 by which the allocation narrows the team's spread of caseloads (as a share of
    /// ceiling, standard deviation over the available case-holders); negative when it widens it.</summary>
    public double Balance { get; set; } = 1.0;

    /// <summary>A worker whose leave starts within this time is not recommended: the child would move again.</summary>
    public TimeSpan AbsenceLookAhead { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How many recommended workers the team board shows next to each waiting child.</summary>
    public int Shown { get; set; } = 3;

    /// <summary>Days of history the forecast fits the referral pattern on.</summary>
    public int ForecastHistoryDays { get; set; } = 56;

    /// <summary>Days the pressure forecast looks ahead.</summary>
    public int ForecastDays { get; set; } = 7;
}
