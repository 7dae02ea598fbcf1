using System.Diagnostics;
using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Allocation.Grains.Kpis;
using Allocation.Grains.Teams;
using Allocation.Service.Reports;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Jobs;

/// <summary>
/// The nightly threshold checks: reads each team's counts from its grain (never a child grain), builds the report
/// in memory, then saves it in one write that replaces any report for the same date. A run cut short saves
/// nothing, so running again gives the whole report; running twice gives the same report once.
/// </summary>
public sealed partial class NightlyThresholdChecks(
    IGrainFactory grains,
    IReportStore reports,
    IBoardPublisher boards,
    PressureForecasts forecasts,
    IOptions<NightlyChecksOptions> options,
    [FromKeyedServices(AllocationClock.Key)] TimeProvider time,
    ILogger<NightlyThresholdChecks> logger)
{
    /// <summary>The recurring job's stable id: registering it again updates it rather than adding another.</summary>
    public const string JobId = "nightly-threshold-checks";

    /// <summary>The Hangfire entry point. Returns nothing, so Hangfire does not store the report as the job's result.</summary>
    [DisableConcurrentExecution(timeoutInSeconds: 10 * 60)]
    [AutomaticRetry(Attempts = 3)]
    public async Task Execute(CancellationToken cancellationToken) => await RunAsync(cancellationToken);

    public async Task<ThresholdReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var at = time.GetUtcNow();
        var date = UkCalendar.DateOf(at);
        var teams = await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams();
        LogStarted(date, teams.Count);

        var measures = new TeamMeasures[teams.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, teams.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxParallelTeams, CancellationToken = cancellationToken },
            async (i, _) => measures[i] = await grains.GetGrain<ITeamGrain>(teams[i].Id).GetMeasures(at));

        var previous = await reports.GetLatestBeforeAsync(date, cancellationToken);
        var report = ThresholdChecks.BuildReport(
            date, at, teams.Select((t, i) => (t.Id, t.Name, measures[i])).ToList(), options.Value.Targets, previous);
        // The lists behind each team's figures, saved with the report so a figure and its list are of the same night.
        var behind = teams.SelectMany((t, i) => measures[i].Tallies
                .Where(kv => kv.Value.Behind.Count > 0)
                .Select(kv => new KpiBehind(t.Id, kv.Key, kv.Value.Behind)))
            .ToList();
        await reports.SaveAsync(report, behind, cancellationToken);
        // The week ahead, stored beside the night's report so it can be scored once the week has passed.
        await forecasts.StoreAsync(at, cancellationToken);
        // Through the board observers, so leaders on every host see it, whichever host ran the job.
        await boards.Publish(new ReportSaved(report.Date, report.RunAt, report.Authority.Count(k => k.Rag == Rag.Red),
            report.Authority.Count(k => k.Rag == Rag.Amber), report.Authority.Count(k => k.Rag == Rag.Green)));

        LogCompleted(date, teams.Count, report.Authority.Count(k => k.Rag == Rag.Red), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return report;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Nightly threshold checks for {Date} started over {Teams} teams")]
    private partial void LogStarted(DateOnly date, int teams);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Nightly threshold checks for {Date} saved: {Teams} teams, {Red} authority KPIs red, in {Milliseconds} ms")]
    private partial void LogCompleted(DateOnly date, int teams, int red, long milliseconds);
}
