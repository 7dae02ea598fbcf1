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

    public sealed record KpiInfo(
        string Id, string Title, string Unit, KpiDirection Direction, decimal? Target, decimal AmberMargin, string Source,
        string Definition, RagRule Rule, BehindKind Behind);

    /// <summary>One team's part of a night's report, for its practice managers.</summary>
    public sealed record TeamReport(string TeamId, string Name, DateOnly Date, DateTimeOffset RunAt, IReadOnlyList<KpiResult> Kpis);

    /// <summary>The children or workers behind a KPI's figure on a night, each with a link to the child or worker.</summary>
    public sealed record BehindList(string Kpi, string Title, BehindKind Of, DateOnly Date, string? TeamId, IReadOnlyList<BehindRow> Items);

    public sealed record BehindRow(string TeamId, string Id, string Note, string Link);

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

        api.MapGet("/kpis", (IOptions<NightlyChecksOptions> options) => TypedResults.Ok(Catalog(options.Value)))
            .WithSummary("The KPIs with the plan's number and definition, this authority's targets, amber margins and rating rule.");

        api.MapGet("/{date}/kpis/{kpiId}/behind", async Task<Results<Ok<BehindList>, ProblemHttpResult>> (
            string date, string kpiId, string? teamId, IReportStore reports, IGrainFactory grains, CancellationToken ct) =>
        {
            if (teamId is not null && (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId)))
            {
                return Problems.NotFound("team", teamId);
            }

            return await Behind(date, kpiId, teamId, reports, ct);
        }).WithSummary("The children or workers behind a KPI's figure on a night (latest or yyyy-MM-dd), every team's or one team's, each with a link.");

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

        app.MapGet("/api/kpis", (IOptions<NightlyChecksOptions> options) => TypedResults.Ok(Catalog(options.Value)))
            .WithTags("Reports").RequireAuthorization(Security.Policies.SignedIn)
            .WithSummary("The KPIs of the nightly report: the plan's number and definition, target, amber margin and rating rule.");
        MapTeamReports(app);
        return app;
    }

    /// <summary>
    /// A practice manager's team reports (plan 8.2.1, "make it team specific"): her teams' part of the nightly report, each
    /// KPI's history for the team, and the children or workers behind each figure. Leaders may read any team's.
    /// </summary>
    private static void MapTeamReports(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/teams/{teamId}").WithTags("Reports").RequireAuthorization(Security.Policies.TeamManagement);

        api.MapGet("/report", async Task<Results<Ok<TeamReport>, ProblemHttpResult>> (
            string teamId, string? date, IReportStore reports, IGrainFactory grains, HttpContext http, CancellationToken ct) =>
        {
            if (await TeamProblem(teamId, grains, http) is { } problem)
            {
                return problem;
            }

            if (await Night(date, reports, ct) is not { } report)
            {
                return date is not null && ParseDate("date", date) is null ? BadDate("date", date) : NoReport(date ?? "latest");
            }

            return report.Teams.FirstOrDefault(t => t.TeamId == teamId) is { } team
                ? TypedResults.Ok(new TeamReport(team.TeamId, team.Name, report.Date, report.RunAt, team.Kpis))
                : Problems.NotFound("team report", $"{teamId} on {report.Date:yyyy-MM-dd}");
        }).WithSummary("The team's nightly KPI report (latest, or ?date=yyyy-MM-dd): each KPI's value, target, RAG and last night's value.");

        api.MapGet("/report/kpis/{kpiId}/history", async Task<Results<Ok<KpiHistory>, ProblemHttpResult>> (
            string teamId, string kpiId, IReportStore reports, IGrainFactory grains, HttpContext http, CancellationToken ct) =>
        {
            if (await TeamProblem(teamId, grains, http) is { } problem)
            {
                return problem;
            }

            if (KpiCatalog.Find(kpiId) is not { } kpi)
            {
                return Problems.NotFound("KPI", kpiId);
            }

            var end = (await reports.GetLatestAsync(ct))?.Date ?? DateOnly.FromDateTime(DateTime.UtcNow);
            var start = end.AddDays(-89);
            return TypedResults.Ok(new KpiHistory(kpi.Id, teamId, start, end, await reports.GetHistoryAsync(kpi.Id, teamId, start, end, ct)));
        }).WithSummary("One KPI's nightly values for the team over the 90 nights to the latest report: its trend.");

        api.MapGet("/report/kpis/{kpiId}/behind", async Task<Results<Ok<BehindList>, ProblemHttpResult>> (
            string teamId, string kpiId, string? date, IReportStore reports, IGrainFactory grains, HttpContext http, CancellationToken ct) =>
        {
            if (await TeamProblem(teamId, grains, http) is { } problem)
            {
                return problem;
            }

            return await Behind(date ?? "latest", kpiId, teamId, reports, ct);
        }).WithSummary("The team's children or workers behind a KPI's figure (latest, or ?date=yyyy-MM-dd), each linking to the child or worker.");
    }

    private static async Task<ProblemHttpResult?> TeamProblem(string teamId, IGrainFactory grains, HttpContext http) =>
        !Problems.IsValidId(teamId) || !await Known.Team(grains, teamId) ? Problems.NotFound("team", teamId) : Security.Access.ReadTeam(http, teamId);

    private static async Task<ThresholdReport?> Night(string? date, IReportStore reports, CancellationToken ct) =>
        date is null or "latest" ? await reports.GetLatestAsync(ct)
        : ParseDate("date", date) is { } day ? await reports.GetAsync(day, ct)
        : null;

    private static async Task<Results<Ok<BehindList>, ProblemHttpResult>> Behind(
        string date, string kpiId, string? teamId, IReportStore reports, CancellationToken ct)
    {
        if (KpiCatalog.Find(kpiId) is not { } kpi)
        {
            return Problems.NotFound("KPI", kpiId);
        }

        if (date != "latest" && ParseDate("date", date) is null)
        {
            return BadDate("date", date);
        }

        if (await Night(date, reports, ct) is not { } report)
        {
            return NoReport(date);
        }

        var rows = (await reports.GetBehindAsync(report.Date, kpi.Id, teamId, ct))
            .SelectMany(b => b.Items.Select(i => new BehindRow(b.TeamId, i.Id, i.Note, Link(kpi.Behind, i.Id))))
            .ToList();
        return TypedResults.Ok(new BehindList(kpi.Id, kpi.Title, kpi.Behind, report.Date, teamId, rows));
    }

    private static string Link(BehindKind kind, string id) => kind == BehindKind.Workers
        ? $"/caseload.html?worker={Uri.EscapeDataString(id)}"
        : $"/child.html?child={Uri.EscapeDataString(id)}";

    public static IReadOnlyList<KpiInfo> Catalog(NightlyChecksOptions options) => KpiCatalog.All.Select(k =>
    {
        var own = options.Targets.GetValueOrDefault(k.Id);
        return new KpiInfo(k.Id, k.Title, k.Unit, k.Direction, own?.Target ?? k.DefaultTarget, own?.AmberMargin ?? k.DefaultAmberMargin,
            k.Source, k.Definition, k.Rule, k.Behind);
    }).ToList();

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
