using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Allocation.Tests.Browser;

/// <summary>
/// Team-specific reports (plan 8.2.1): a practice manager opens her team's nightly KPI report, sees the plan's
/// definition beside each KPI, opens the workers or children behind an off-target figure and follows a link to one.
/// In the demo Ben Turner (W-002) has no supervision dates, so KPI 43 is red for his team with him behind it.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class TeamReportTests(BrowserApp app)
{
    private const string Team = "T-ASSESS-N";
    private const string Manager = "W-001";   // Amira Shah, practice manager of Assessment North only
    private const string Ben = "W-002";

    [BrowserFact]
    public async Task A_practice_manager_opens_the_workers_behind_an_off_target_figure_and_goes_to_one()
    {
        await ReportExists();
        var page = await app.NewPageAsync($"team-report.html?team={Team}", Manager);

        await Expect(page.Locator("#team-name")).ToContainTextAsync("Assessment North");
        var kpi2 = page.Locator("tr[data-kpi='caseloads18OrLess']");
        await Expect(kpi2).ToContainTextAsync("KPI 2");
        await Expect(kpi2).ToContainTextAsync("% of worker caseloads of 18 or less");
        await Expect(page.Locator("tr[data-kpi='caseloadsAtOrUnderCeiling']")).ToContainTextAsync("Ours");

        var kpi43 = page.Locator("tr[data-kpi='staffSupervisedThreeMonths']");
        await Expect(kpi43.Locator(".rag")).ToHaveTextAsync("Red");
        await kpi43.GetByRole(AriaRole.Button, new() { Name = "Which workers: Staff supervised in each of the last 3 months" }).ClickAsync();
        var behind = page.Locator("#behind");
        await Expect(behind.Locator("h2")).ToContainTextAsync("Behind");
        await Expect(behind.Locator("h2")).ToBeFocusedAsync();
        var ben = behind.Locator($"a[href='/caseload.html?worker={Ben}']");
        await Expect(ben).ToBeVisibleAsync();
        await Expect(behind.Locator("li").Filter(new() { Has = page.Locator($"a[href='/caseload.html?worker={Ben}']") })).ToContainTextAsync("no supervision recorded");
        await Screenshot(page, "team-report");

        await ben.ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/caseload\\.html\\?worker={Ben}$"));
        await Expect(page.Locator("#board")).ToHaveAttributeAsync("aria-busy", "false");
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task The_children_behind_a_figure_link_to_each_childs_record_and_allocation_history()
    {
        await ReportExists();
        var page = await app.NewPageAsync($"team-report.html?team={Team}", Manager);

        // Whichever figures are off target for the team tonight, each with children behind it opens their list.
        var button = page.Locator("#kpis button.behind").Filter(new() { HasText = "Which children" }).First;
        await Expect(button).ToBeVisibleAsync();
        await button.ClickAsync();
        var child = page.Locator("#behind a[href^='/child.html?child=']").First;
        await Expect(child).ToBeVisibleAsync();
        var childId = (await child.InnerTextAsync()).Trim();
        await child.ClickAsync();
        await Expect(page.Locator("#child-name")).ToHaveTextAsync($"Child {childId}");
        await Expect(page.Locator("#history-heading")).ToHaveTextAsync("Allocation history");
        await Expect(page.Locator("#record dt").First).ToBeVisibleAsync();
        await Screenshot(page, "child");
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task Each_waiting_child_shows_its_plan_on_the_queue_and_the_board_links_to_the_team_report()
    {
        var page = await app.NewPageAsync($"team.html?team={Team}", Manager);

        await Expect(page.Locator("#board")).ToHaveAttributeAsync("aria-busy", "false");
        var items = page.Locator("li.queue-item");
        await Expect(items.First).ToBeVisibleAsync();
        // Every waiting child says its plan (CIN, CP, CLA, care leaver) or that none is recorded.
        Assert.Equal(await items.CountAsync(), await page.Locator("li.queue-item .badge.plan").CountAsync());
        await Expect(page.Locator("#team-report")).ToHaveAttributeAsync("href", $"team-report.html?team={Team}");
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task Another_teams_report_is_refused_to_a_practice_manager()
    {
        await ReportExists();
        var page = await app.NewPageAsync("team-report.html?team=T-CIC", Manager);

        await Expect(page.Locator("#status")).ToContainTextAsync("403");
        await Expect(page.Locator("#kpis tbody tr")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task The_leaders_report_shows_the_plans_definitions_and_every_teams_list_behind_a_figure()
    {
        await ReportExists();
        var page = await app.NewPageAsync("report.html");

        var kpi1 = page.Locator("#authority tr[data-kpi='newCasesOverThreeWorkersDecrease']");
        await Expect(kpi1).ToContainTextAsync("% decrease of new cases with more than 3 social workers in the next 12 months");
        await Expect(page.Locator("#authority tr[data-kpi='breachesLastDay']")).ToContainTextAsync("any breach is red");
        var kpi43 = page.Locator("#authority tr[data-kpi='staffSupervisedThreeMonths']");
        await kpi43.GetByRole(AriaRole.Button).ClickAsync();
        await Expect(page.Locator("#behind li").Filter(new() { HasText = "(T-CIC)" }).First).ToBeVisibleAsync();
        await Expect(page.Locator("#behind li").Filter(new() { HasText = $"(T-ASSESS-N)" }).First).ToBeVisibleAsync();
        await Expect(page.Locator($"#teams a[href='team-report.html?team={Team}']")).ToBeVisibleAsync();
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }

    /// <summary>The demo queues a first run at start; wait for it rather than depend on test order.</summary>
    private async Task ReportExists()
    {
        using var api = app.CreateApiClient();
        for (var i = 0; i < 60; i++)
        {
            if ((await api.GetAsync("/api/reports/latest")).StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            if (i == 0)
            {
                (await api.PostAsync("/api/reports/run", null)).EnsureSuccessStatusCode();
            }

            await Task.Delay(500);
        }

        throw new Xunit.Sdk.XunitException("No nightly report after 30 seconds.");
    }

    private static async Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(BrowserApp.ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserApp.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
