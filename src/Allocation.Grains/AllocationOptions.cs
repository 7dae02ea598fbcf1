namespace Allocation.Grains;

/// <summary>
/// The authority's allocation policy. One deployment serves one authority, so these are the authority's settings
/// (configuration section <c>Allocation</c>). Defaults are the improvement plan's figures.
/// </summary>
public sealed class AllocationOptions
{
    public const string SectionName = "Allocation";

    /// <summary>Time from referral or transfer into a team to the allocation deadline (plan 002, action 9.5.2).</summary>
    public TimeSpan AllocationWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Time left at or under which the clock shows amber.</summary>
    public TimeSpan AmberThreshold { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Full-time ceiling per role; part-time workers get it pro rata by FTE, rounded down.</summary>
    public Dictionary<WorkerRole, int> RoleCeilings { get; set; } = new()
    {
        [WorkerRole.SocialWorker] = 18,
        [WorkerRole.AdvancedPractitioner] = 18,
        [WorkerRole.PersonalAdviser] = 18,
        [WorkerRole.NewlyQualified] = 12,
        [WorkerRole.PracticeManager] = 0,
    };

    /// <summary>Whether a named senior user may allocate above a worker's ceiling, with a reason.</summary>
    public bool AllowCeilingOverride { get; set; } = true;

    /// <summary>Rolling window for counting a child's distinct workers (plan 002, KPI 1).</summary>
    public TimeSpan WorkerChangeWindow { get; set; } = TimeSpan.FromDays(365);

    /// <summary>A child is flagged when distinct workers in the window exceed this.</summary>
    public int WorkerChangeFlagThreshold { get; set; } = 3;

    /// <summary>How many command receipts a child or a worker keeps in memory at most for answering retried requests;
    /// all of them are stored for the retry window (<see cref="Receipts"/>).</summary>
    public int ReceiptsKept { get; set; } = 64;

    /// <summary>How long a child or a worker keeps a command's receipt in memory; a retry of an older command within
    /// the retry window (24 hours) is answered from the stored receipt.</summary>
    public TimeSpan ReceiptsInMemory { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often each team's durable reminder wakes it to check its children's clocks (at least a minute);
    /// while a team is active a timer also fires at its queue's next deadline.</summary>
    public TimeSpan ClockCheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    public int CeilingFor(WorkerRole role) => RoleCeilings.TryGetValue(role, out var c) ? c : 0;
}
