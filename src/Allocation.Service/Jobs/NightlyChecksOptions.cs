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

    /// <summary>The authority's own targets and amber margins by KPI id; a KPI not listed keeps the plan's default.</summary>
    public Dictionary<string, KpiTarget> Targets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The authority's own target for the share of caseloads at or under ceiling, if it sets one: the preview
    /// and the forecast colour that share as the report does.</summary>
    public KpiTarget? CaseloadTarget => Targets.GetValueOrDefault(KpiCatalog.CaseloadsAtOrUnderCeiling);
}
