using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Allocation.Tests.Browser;

/// <summary>
/// The recommendation, the preview and the forecast on the demo's boards: the top three next to each waiting child with
/// the reasons one click away; choosing a worker shows what the allocation would do, and it then does that; the
/// leaders' board names the teams forecast to go red and when.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AdviceBoardsTests(BrowserApp app)
{
    private const string Team = "T-ASSESS-N";
    private const string Manager = "W-001";
    private const string Ben = "W-002";
    private const string Chloe = "W-003";    // 18 of 18 in the demo
    private const string Daniel = "W-004";   // had C-10107 until two months ago
    private const string Hannah = "W-008";   // holds C-10088, brother of C-10105

    [BrowserFact]
    public async Task Each_waiting_child_shows_its_top_three_with_the_reasons_one_click_away()
    {
        var board = await app.OpenLiveAsync($"team.html?team={Team}", Manager);

        var sibling = board.Locator("li.queue-item[data-child='C-10105'] .recs-list > li");
        await Expect(sibling).ToHaveCountAsync(3);
        await Expect(sibling.First).ToHaveAttributeAsync("data-recommended", Hannah);
        var why = sibling.First.Locator("details.why");
        await Expect(why.Locator("li[data-kind='siblings']")).ToBeHiddenAsync();
        await why.Locator("summary").ClickAsync();
        await Expect(why.Locator("li[data-kind='siblings']")).ToContainTextAsync("C-10088");

        var returning = board.Locator("li.queue-item[data-child='C-10107'] .recs-list > li");
        await Expect(returning.First).ToHaveAttributeAsync("data-recommended", Daniel);
        await returning.First.Locator("summary").ClickAsync();
        await Expect(returning.First.Locator("li[data-kind='continuity']")).ToContainTextAsync("not a change");

        // A worker at the ceiling is never among the recommended.
        await Expect(board.Locator($".recs-list > li[data-recommended='{Chloe}']")).ToHaveCountAsync(0);
        await BrowserApp.ScreenshotAsync(board, "team-board-recommendations");
        await app.CloseCheckedAsync(board);
    }

    [BrowserFact]
    public async Task Choosing_a_worker_previews_the_allocation_and_the_allocation_then_does_that()
    {
        var board = await app.OpenLiveAsync($"team.html?team={Team}", Manager);
        await Refer("C-B4001");
        var item = board.Locator("li.queue-item[data-child='C-B4001']");
        await Expect(item).ToBeVisibleAsync();

        // At the ceiling: the preview says the allocation would be refused, and nothing changes.
        await item.Locator("select").SelectOptionAsync(Chloe);
        var preview = item.Locator(".preview");
        await Expect(preview).ToHaveAttributeAsync("data-preview-worker", Chloe);
        await Expect(preview).ToHaveAttributeAsync("data-outcome", "refused");
        await Expect(preview).ToContainTextAsync("caseload-ceiling");

        var bensCard = board.Locator($"article.card[data-worker='{Ben}']");
        var before = int.Parse((await bensCard.GetAttributeAsync("data-caseload"))!);
        await item.Locator("select").SelectOptionAsync(Ben);
        await Expect(preview).ToHaveAttributeAsync("data-preview-worker", Ben);
        await Expect(preview).ToHaveAttributeAsync("data-outcome", "allowed");
        var after = preview.Locator("[data-figure='caseload-after'] b");
        await Expect(after).ToHaveTextAsync($"{before + 1} of 18");
        await Expect(preview.Locator("[data-figure='override'] b")).ToHaveTextAsync("no");
        var teamAfter = await preview.Locator("[data-figure='team-after'] b").InnerTextAsync();
        await BrowserApp.ScreenshotAsync(board, "team-board-preview");

        await item.GetByRole(AriaRole.Button, new() { Name = "Allocate", Exact = true }).ClickAsync();
        await Expect(item).ToHaveCountAsync(0);
        await Expect(bensCard).ToHaveAttributeAsync("data-caseload", (before + 1).ToString());
        // The team's share the preview showed is the share the board now shows.
        var share = teamAfter[..teamAfter.IndexOf(" (", StringComparison.Ordinal)];
        await Expect(board.Locator("#summary")).ToContainTextAsync(share);
        await app.CloseCheckedAsync(board);
    }

    [BrowserFact]
    public async Task Leaders_board_names_the_teams_forecast_to_go_red_and_when()
    {
        var leaders = await app.OpenLiveAsync("leaders.html");
        var red = leaders.Locator("#forecast-list li[data-rag='red']");
        await Expect(red.First).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(red.First).ToContainTextAsync("red from");
        await Expect(red.First).ToContainTextAsync("expected");
        await Expect(red.First.Locator(".day")).ToHaveCountAsync(7);
        await Expect(leaders.Locator("article.tile[data-team='T-SAFEGUARD'] .tile-forecast")).ToContainTextAsync("Week ahead: red from");
        await Expect(leaders.Locator("#forecast-summary")).ToContainTextAsync("The authority:");
        await BrowserApp.ScreenshotAsync(leaders, "leaders-forecast");
        await app.CloseCheckedAsync(leaders);
    }

    private async Task Refer(string childId)
    {
        using var api = app.CreateApiClient();
        var response = await api.PostAsJsonAsync($"/api/children/{childId}/refer", new { requestId = $"browser-refer-{childId}", teamId = Team });
        response.EnsureSuccessStatusCode();
    }
}
