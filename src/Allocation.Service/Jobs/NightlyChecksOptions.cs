using Allocation.Grains.Kpis;

namespace Allocation.Service.Jobs;

/// <summary>The nightly threshold checks (configuration section <c>NightlyChecks</c>).</summary>
public sealed class NightlyChecksOptions
{
    public const string SectionName = "NightlyChecks";

    /// <summary>When the job runs, in <see cref="TimeZone"/>: 02:00 every night by default.</summary>
    public string Cron { get; set; } = "0 2 * * *";

    public string TimeZone { get; set; } = "Europe/London";

    /// <summary>How many team grains are read at once: enough to keep both cores busy, few enough not to flood the silo.</summary>
    public int MaxParallelTeams { get; set; } = 16;

    /// <summary>How often Hangfire's PostgreSQL storage looks for queued jobs (a "run now" waits up to this long).</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a run taken by a host that then died (a kill, a lost node) waits before Hangfire hands it out
    /// again. The host running it renews its claim every fifth of this while it runs (a sliding timeout), so a long
    /// run is never handed out twice; Hangfire.PostgreSql's own default, without renewal, is 30 minutes.</summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How old the lock of a run whose host died must be before the next run may take it (runs are one at a
    /// time). Longer than a run takes: a live run's lock is not renewed.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The authority's own targets and amber margins by KPI id; a KPI not listed keeps the plan's default.</summary>
    public Dictionary<string, KpiTarget> Targets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The authority's own target for the share of caseloads at or under ceiling, if it sets one: the preview
    /// and the forecast colour that share as the report does.</summary>
    public KpiTarget? CaseloadTarget => Targets.GetValueOrDefault(KpiCatalog.CaseloadsAtOrUnderCeiling);
}
