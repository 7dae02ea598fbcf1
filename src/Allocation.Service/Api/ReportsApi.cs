using System.Globalization;
using System.Text;
using Allocation.Grains.Kpis;
using Allocation.Service.Audit;
using Allocation.Service.Jobs;
using Allocation.Service.Reports;
using Hangfire;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Api;

public static class ReportsApi
{
    /// <summary>The longest KPI history one request may ask for.</summary>
    private const int MaxHistoryDays = 3 * 366;

    public sealed record RunAccepted(string JobId, string Status);

    public sealed record KpiInfo(string Id, string Title, string Unit, KpiDirection Direction, decimal? Target, decimal AmberMargin, string Source);

    public sealed record KpiHistory(string Kpi, string? TeamId, DateOnly From, DateOnly To, IReadOnlyList<KpiPoint> Points);

    public static IEndpointRouteBuilder MapReportsApi(this IEndpointRouteBuilder app)
    {
        // Authority-wide figures: leaders and administrators.
        var api = app.MapGroup("/api/reports").WithTags("Reports").RequireAuthorization(Security.Policies.LeadersOrAdministrators);

        api.MapGet("/latest", async Task<Results<Ok<ThresholdReport>, ProblemHttpResult>> (IReportStore reports, CancellationToken ct) =>
            await reports.GetLatestAsync(ct) is { } report ? TypedResults.Ok(report) : NoReport("latest"))
            .WithSummary("The latest nightly threshold report: each KPI's value, target, RAG and previous value, for the authority and each team.");

        api.MapGet("/latest/csv", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (IReportStore reports, CancellationToken ct) =>
            await reports.GetLatestAsync(ct) is { } report ? Csv(report) : NoReport("latest"))
            .WithSummary("The latest report as CSV.");

        api.MapGet("/{date}", async Task<Results<Ok<ThresholdReport>, ProblemHttpResult>> (string date, IReportStore reports, CancellationToken ct) =>
        {
            if (ParseDate("date", date) is not { } day)
            {
                return BadDate("date", date);
            }

            return await reports.GetAsync(day, ct) is { } report ? TypedResults.Ok(report) : NoReport(date);
        }).WithSummary("The report for one night (yyyy-MM-dd, UK date).");

        api.MapGet("/{date}/csv", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (string date, IReportStore reports, CancellationToken ct) =>
        {
            if (ParseDate("date", date) is not { } day)
            {
                return BadDate("date", date);
            }

            return await reports.GetAsync(day, ct) is { } report ? Csv(report) : NoReport(date);
        }).WithSummary("The report for one night as CSV.");

        api.MapGet("/dates", async (IReportStore reports, CancellationToken ct) => TypedResults.Ok(await reports.GetDatesAsync(ct)))
            .WithSummary("The dates that have a report, oldest first.");

        api.MapGet("/kpis", (IOptions<NightlyChecksOptions> options) => TypedResults.Ok(KpiCatalog.All.Select(k =>
        {
            var own = options.Value.Targets.GetValueOrDefault(k.Id);
            return new KpiInfo(k.Id, k.Title, k.Unit, k.Direction, own?.Target ?? k.DefaultTarget, own?.AmberMargin ?? k.DefaultAmberMargin, k.Source);
        }).ToList())).WithSummary("The KPIs with this authority's targets and amber margins.");

        api.MapGet("/kpis/{kpiId}/history", async Task<Results<Ok<KpiHistory>, ProblemHttpResult>> (
            string kpiId, string? from, string? to, string? teamId, IReportStore reports, IGrainFactory grains, CancellationToken ct) =>
        {
            if (KpiCatalog.Find(kpiId) is not { } kpi)
            {
                return Problems.NotFound("KPI", kpiId);
            }

            DateOnly? toDay = to is null ? null : ParseDate("to", to);
            DateOnly? fromDay = from is null ? null : ParseDate("from", from);
            if (to is not null && toDay is null)
            {
                return BadDate("to", to);
            }

            if (from is not null && fromDay is null)
            {
                return BadDate("from", from);
            }

            if (teamId is not null && (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId)))
            {
                return Problems.NotFound("team", teamId);
            }

            var end = toDay ?? (await reports.GetLatestAsync(ct))?.Date ?? DateOnly.FromDateTime(DateTime.UtcNow);
            var start = fromDay ?? end.AddDays(-89);
            if (start > end || end.DayNumber - start.DayNumber > MaxHistoryDays)
            {
                return Problems.Invalid("from", $"'from' must be on or before 'to', and the range at most {MaxHistoryDays} days.");
            }

            return TypedResults.Ok(new KpiHistory(kpi.Id, teamId, start, end, await reports.GetHistoryAsync(kpi.Id, teamId, start, end, ct)));
        }).WithSummary("One KPI's nightly values over a date range (default: the 90 nights to the latest report), for the authority or a team.");

        api.MapPost("/run", (IBackgroundJobClient jobs) =>
        {
            var id = jobs.Enqueue<NightlyThresholdChecks>(job => job.Execute(CancellationToken.None));
            return TypedResults.Accepted("/api/reports/latest", new RunAccepted(id, "queued"));
        }).Audited("reports.run").WithSummary("Runs the threshold checks now; today's report is replaced when the run completes.");

        return app;
    }

    private static DateOnly? ParseDate(string field, string value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    private static ProblemHttpResult BadDate(string field, string value) =>
        Problems.Invalid(field, $"'{field}' must be a date as yyyy-MM-dd (got '{Truncate(value)}').");

    private static ProblemHttpResult NoReport(string date) => Problems.NotFound("report", date);

    private static FileContentHttpResult Csv(ThresholdReport report) =>
        TypedResults.File(Encoding.UTF8.GetBytes(ReportCsv.Write(report)), "text/csv; charset=utf-8",
            $"threshold-report-{report.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}.csv");

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
