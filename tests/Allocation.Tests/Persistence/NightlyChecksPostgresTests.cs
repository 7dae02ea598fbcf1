using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains.Advice;
using Allocation.Grains.Kpis;
using Allocation.Service.Persistence;
using Allocation.Service.Reports;
using Allocation.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Allocation.Tests.Persistence;

[Collection(PostgresCollection.Name)]
public class NightlyChecksPostgresTests(PostgresServer postgres)
{
    [PostgresFact]
    public async Task The_report_store_replaces_a_night_keeps_history_and_finds_the_previous_night()
    {
        var database = await postgres.CreateDatabaseAsync("reports");
        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        var store = new PostgresReportStore(database);
        var monday = Report(new DateOnly(2026, 3, 9), caseholders: 4, atOrUnder: 3, previous: null);
        var tuesdayFirst = Report(new DateOnly(2026, 3, 10), caseholders: 4, atOrUnder: 2, previous: monday);
        var tuesday = Report(new DateOnly(2026, 3, 10), caseholders: 4, atOrUnder: 4, previous: monday);

        await store.SaveAsync(monday);
        await store.SaveAsync(tuesdayFirst, [new KpiBehind("t1", KpiCatalog.CaseloadsAtOrUnderCeiling, [new BehindItem("w1", "20 children, ceiling 18"), new BehindItem("w2", "19 children, ceiling 18")])]);
        await store.SaveAsync(tuesday, [new KpiBehind("t1", KpiCatalog.CaseloadsAtOrUnderCeiling, [new BehindItem("w2", "19 children, ceiling 18")])]);

        Assert.Equal([monday.Date, tuesday.Date], await store.GetDatesAsync());
        Assert.Equal(Json(tuesday), Json((await store.GetLatestAsync())!));
        Assert.Equal(Json(tuesday), Json((await store.GetAsync(tuesday.Date))!));
        Assert.Equal(Json(monday), Json((await store.GetLatestBeforeAsync(tuesday.Date))!));
        Assert.Null(await store.GetAsync(new DateOnly(2026, 3, 11)));
        var history = await store.GetHistoryAsync(KpiCatalog.CaseloadsAtOrUnderCeiling, null, monday.Date, tuesday.Date);
        Assert.Equal([(75m, Rag.Red), (100m, Rag.Green)], history.Select(p => (p.Value!.Value, p.Rag)));
        var teamHistory = await store.GetHistoryAsync(KpiCatalog.CaseloadsAtOrUnderCeiling, "t1", tuesday.Date, tuesday.Date);
        Assert.Equal(100m, Assert.Single(teamHistory).Value);
        // No establishment loaded: the nights are there, with no value.
        Assert.All(await store.GetHistoryAsync(KpiCatalog.Vacancy, null, monday.Date, tuesday.Date), p => Assert.Null(p.Value));
        // The list behind a figure is replaced with its night's report, never added to.
        var behind = Assert.Single(await store.GetBehindAsync(tuesday.Date, KpiCatalog.CaseloadsAtOrUnderCeiling, "t1"));
        Assert.Equal([("w2", "19 children, ceiling 18")], behind.Items.Select(i => (i.Id, i.Note)));
        Assert.Empty(await store.GetBehindAsync(tuesday.Date, KpiCatalog.CaseloadsAtOrUnderCeiling, "t2"));
        Assert.Single(await store.GetBehindAsync(tuesday.Date, KpiCatalog.CaseloadsAtOrUnderCeiling, null));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("select count(*) from threshold_kpi_value where report_date = '2026-03-10'", connection);
        // One row per KPI for the authority and for its one team: the first Tuesday run left none behind.
        Assert.Equal((long)(2 * KpiCatalog.All.Count), (long)(await count.ExecuteScalarAsync())!);
    }

    [PostgresFact]
    public async Task The_forecast_store_keeps_each_night_and_a_rerun_replaces_it()
    {
        var database = await postgres.CreateDatabaseAsync("forecasts");
        await PostgresSchema.ApplyAsync(database, NullLogger.Instance);
        var store = new PostgresForecastStore(database);
        var night = new DateOnly(2026, 3, 9);
        TeamForecast Forecast(string id, double waiting) => new(id, id, new DateTimeOffset(2026, 3, 9, 2, 0, 0, TimeSpan.Zero),
            [new ForecastDay(night, waiting, 0.5, 80m, 2, Rag.Amber, 5, 4)], null, 1, $"{id}: amber from today, 1 breach expected");

        await store.SaveAsync(night, [Forecast(ForecastApiIds.Authority, 3), Forecast("t1", 1), Forecast("t2", 2)]);
        await store.SaveAsync(night, [Forecast(ForecastApiIds.Authority, 4), Forecast("t1", 4)]);
        await store.SaveAsync(night.AddDays(1), [Forecast(ForecastApiIds.Authority, 9)]);

        var stored = await store.GetAsync(night);
        Assert.Equal([(ForecastApiIds.Authority, 4.0), ("t1", 4.0)], stored.Select(f => (f.TeamId, f.Days[0].Waiting)));
        Assert.Equal(Json(Forecast("t1", 4)), Json(stored[1]));
        Assert.Empty(await store.GetAsync(night.AddDays(2)));
    }

    [PostgresFact]
    public async Task On_PostgreSQL_hangfire_runs_the_job_from_its_own_schema_and_the_report_is_stored()
    {
        var database = await postgres.CreateDatabaseAsync("hangfire");
        await using var factory = new HangfirePostgresFactory(database);
        var http = factory.CreateClient();
        (await http.PutAsJsonAsync("/api/teams/t1", new { name = "North" })).EnsureSuccessStatusCode();

        var run = await http.PostAsync("/api/reports/run", null);
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        var jobId = JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString();

        var giveUp = DateTimeOffset.UtcNow.AddSeconds(60);
        HttpResponseMessage latest;
        while ((latest = await http.GetAsync("/api/reports/latest")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTimeOffset.UtcNow < giveUp, "no report 60 s after run now");
            await Task.Delay(250);
        }

        var report = JsonDocument.Parse(await latest.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("t1", Assert.Single(report.GetProperty("teams").EnumerateArray()).GetProperty("teamId").GetString());

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        Assert.Equal(1L, await Scalar<long>(connection, "select count(*) from threshold_report"));
        Assert.Equal(1L, await Scalar<long>(connection, "select count(*) from hangfire.set where key = 'recurring-jobs' and value = 'nightly-threshold-checks'"));
        // The report is saved inside the job; Hangfire marks the job succeeded just after it returns.
        var state = "";
        for (var wait = DateTimeOffset.UtcNow.AddSeconds(30); state != "Succeeded" && DateTimeOffset.UtcNow < wait; await Task.Delay(100))
        {
            state = await Scalar<string>(connection, $"select statename from hangfire.job where id = {long.Parse(jobId!, System.Globalization.CultureInfo.InvariantCulture)}");
        }

        Assert.Equal("Succeeded", state);
    }

    private static ThresholdReport Report(DateOnly date, int caseholders, int atOrUnder, ThresholdReport? previous) =>
        ThresholdChecks.BuildReport(date, new DateTimeOffset(date.ToDateTime(new TimeOnly(2, 0)), TimeSpan.Zero),
            [("t1", "North", new TeamMeasures(new Dictionary<string, Tally>
            {
                [KpiCatalog.CaseloadsAtOrUnderCeiling] = new(atOrUnder, caseholders, [new BehindItem("w1", "over ceiling")]),
            }))], null, previous);

    private static string Json(ThresholdReport report) => JsonSerializer.Serialize(report, ReportJson.Options);

    private static string Json(TeamForecast forecast) => JsonSerializer.Serialize(forecast, ReportJson.Options);

    private static async Task<T> Scalar<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private sealed class HangfirePostgresFactory(string connectionString) : AppFactory(new Dictionary<string, string?>
    {
        ["ConnectionStrings:Allocation"] = connectionString,
        ["Orleans:ClusterId"] = "hangfire-" + Guid.NewGuid().ToString("N")[..8],
        ["NightlyChecks:QueuePollInterval"] = "00:00:00.500",
    });
}
