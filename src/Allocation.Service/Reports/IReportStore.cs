using Allocation.Grains.Kpis;

namespace Allocation.Service.Reports;

/// <summary>
/// The nightly threshold reports with their history, one per UK calendar date. Saving a date that already has a
/// report replaces it as a whole, so a re-run never duplicates a night or leaves half of one.
/// </summary>
public interface IReportStore
{
    /// <summary>Saves the night's report and, where given, the children and workers behind each team's figures.</summary>
    Task SaveAsync(ThresholdReport report, IReadOnlyList<KpiBehind>? behind = null, CancellationToken cancellationToken = default);

    /// <summary>The children or workers behind a KPI on a night, for one team or (null) every team.</summary>
    Task<IReadOnlyList<KpiBehind>> GetBehindAsync(DateOnly date, string kpiId, string? teamId, CancellationToken cancellationToken = default);

    Task<ThresholdReport?> GetAsync(DateOnly date, CancellationToken cancellationToken = default);

    Task<ThresholdReport?> GetLatestAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest report dated before <paramref name="date"/>: the "previous night" for a trend.</summary>
    Task<ThresholdReport?> GetLatestBeforeAsync(DateOnly date, CancellationToken cancellationToken = default);

    /// <summary>Dates that have a report, oldest first.</summary>
    Task<IReadOnlyList<DateOnly>> GetDatesAsync(CancellationToken cancellationToken = default);

    /// <summary>One KPI over a date range, for the authority (<paramref name="teamId"/> null) or one team, oldest first.</summary>
    Task<IReadOnlyList<KpiPoint>> GetHistoryAsync(string kpiId, string? teamId, DateOnly from, DateOnly to, CancellationToken cancellationToken = default);
}

/// <summary>One team's children or workers behind one KPI's figure on a night.</summary>
public sealed record KpiBehind(string TeamId, string KpiId, IReadOnlyList<BehindItem> Items);

/// <summary>The embedded default: reports live as long as the process, like everything else in that mode.</summary>
public sealed class InMemoryReportStore : IReportStore
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<DateOnly, ThresholdReport> _reports = [];
    private readonly Dictionary<DateOnly, IReadOnlyList<KpiBehind>> _behind = [];

    public Task SaveAsync(ThresholdReport report, IReadOnlyList<KpiBehind>? behind = null, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _reports[report.Date] = report;
            _behind[report.Date] = behind ?? [];
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<KpiBehind>> GetBehindAsync(DateOnly date, string kpiId, string? teamId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<KpiBehind>>(_behind.GetValueOrDefault(date, [])
                .Where(b => b.KpiId == kpiId && (teamId is null || b.TeamId == teamId)).ToList());
        }
    }

    public Task<ThresholdReport?> GetAsync(DateOnly date, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_reports.GetValueOrDefault(date));
        }
    }

    public Task<ThresholdReport?> GetLatestAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_reports.Count == 0 ? null : _reports.Values.Last());
        }
    }

    public Task<ThresholdReport?> GetLatestBeforeAsync(DateOnly date, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_reports.Values.LastOrDefault(r => r.Date < date));
        }
    }

    public Task<IReadOnlyList<DateOnly>> GetDatesAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<DateOnly>>(_reports.Keys.ToList());
        }
    }

    public Task<IReadOnlyList<KpiPoint>> GetHistoryAsync(string kpiId, string? teamId, DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var points = new List<KpiPoint>();
            foreach (var report in _reports.Values.Where(r => r.Date >= from && r.Date <= to))
            {
                var kpis = teamId is null ? report.Authority : report.Teams.FirstOrDefault(t => t.TeamId == teamId)?.Kpis;
                if (kpis?.FirstOrDefault(k => k.Id == kpiId) is { } kpi)
                {
                    points.Add(new KpiPoint(report.Date, kpi.Value, kpi.Target, kpi.Rag));
                }
            }

            return Task.FromResult<IReadOnlyList<KpiPoint>>(points);
        }
    }
}
