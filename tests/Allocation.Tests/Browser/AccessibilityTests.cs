using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains.Children;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Allocation.Tests.Browser;

/// <summary>
/// WCAG 2.2 AA in the browser: axe on the pages and states the live-board tests do not reach (sign-in, the statement,
/// the start page per role, an override, a breach, the report), a practice manager's work done with key presses
/// alone, live changes read out through the live regions, and reflow at 320 and 640 CSS pixels (400% and 200% zoom).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(BrowserApp app)
{
    private const string Team = "T-ASSESS-N";
    private const string Manager = "W-001";  // Amira Shah
    private const string Ben = "W-002";      // Ben Turner
    private const string Chloe = "W-003";    // at her ceiling of 18 in the demo
    private const string Hannah = "W-008";   // Hannah Begum

    [BrowserFact]
    public async Task Sign_in_statement_and_start_page_for_each_role_have_no_axe_violations()
    {
        var signIn = await app.NewPageAsync("signin.html", signInAs: null);
        await Expect(signIn.Locator("#demo-banner")).ToBeVisibleAsync();
        await Axe.AssertNoViolationsAsync(signIn, "sign-in");
        await signIn.Context.CloseAsync();

        var statement = await app.NewPageAsync("accessibility.html", signInAs: null);
        await Expect(statement.GetByRole(AriaRole.Heading, new() { Level = 2, Name = "Reporting accessibility problems with this service" })).ToBeVisibleAsync();
        await Axe.AssertNoViolationsAsync(statement, "accessibility statement");
        await statement.Context.CloseAsync();

        foreach (var (user, role) in new[] { (Manager, "practice manager"), (Ben, "social worker"), ("U-HOS", "head of service"), ("U-ADMIN", "administrator") })
        {
            var start = await app.NewPageAsync("/", user);
            await Expect(start.Locator("#teams")).ToHaveAttributeAsync("aria-busy", "false");
            await Expect(start.Locator("footer a[href='/accessibility.html']")).ToBeVisibleAsync();
            await Axe.AssertNoViolationsAsync(start, $"start page, {role}");
            Assert.Empty(app.ScriptErrors(start));
            await start.Context.CloseAsync();
        }
    }

    [BrowserFact]
    public async Task Breach_and_allocation_arriving_live_are_read_out_breach_assertively()
    {
        var board = await OpenLive($"team.html?team={Team}", Manager);
        var polite = board.Locator("#announcer[role='status'][aria-live='polite']");
        var assertive = board.Locator("#alerter[role='alert'][aria-live='assertive']");

        // Allocated by the practice manager through the API, as from another window: the board says who did what.
        using (var amira = app.CreateApiClient(Manager))
        {
            await Send(amira, "/api/children/C-B5001/refer", new { requestId = "a11y-refer-C-B5001", teamId = Team });
            await Send(amira, "/api/children/C-B5001/allocate", new { requestId = "a11y-allocate-C-B5001", workerId = Ben });
        }

        await Expect(polite).ToContainTextAsync("C-B5001 allocated to Ben Turner by Amira Shah");

        // A child whose 24-hour clock started 25 hours ago, imported unallocated: its breach is recorded at once.
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var now = DateTimeOffset.UtcNow;
        await grains.GetGrain<IChildGrain>("C-B5002").Import(new ImportChild(Team, now.AddHours(-25), now.AddHours(-25), []));

        await Expect(assertive).ToContainTextAsync("Breach: C-B5002 not allocated within 24 hours");
        Assert.DoesNotContain("C-B5002", await polite.InnerTextAsync(), StringComparison.Ordinal);
        var item = board.Locator("li.queue-item[data-child='C-B5002']");
        await Expect(item).ToHaveAttributeAsync("data-clock", "red");
        await Expect(item.Locator(".countdown")).ToContainTextAsync("Breached");
        await Axe.AssertNoViolationsAsync(board, "team board with a breach");
        Assert.Empty(app.ScriptErrors(board));
        await board.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task Practice_manager_allocates_refuses_transfers_and_moves_with_the_keyboard_alone()
    {
        using (var api = app.CreateApiClient(Manager))
        {
            foreach (var child in new[] { "C-B6001", "C-B6002", "C-B6003" })
            {
                await Send(api, $"/api/children/{child}/refer", new { requestId = $"a11y-refer-{child}", teamId = Team });
            }
        }

        var board = await OpenLive($"team.html?team={Team}", Manager);
        var keys = board.Keyboard;
        var bensCard = board.Locator($"[data-worker='{Ben}']");
        var bensCaseload = int.Parse((await bensCard.GetAttributeAsync("data-caseload"))!);
        await Expect(board.Locator("li.queue-item[data-child='C-B6003']")).ToBeVisibleAsync();

        // The skip link first, then on to the child in the queue.
        await keys.PressAsync("Tab");
        await ExpectFocus(board, "a.skip-link");
        await keys.PressAsync("Enter");

        // Allocate: choose Ben by typing his name on the worker list, then Enter.
        await TabTo(board, "#worker-for-C-B6001");
        await keys.TypeAsync("Ben");
        await Expect(board.Locator("#worker-for-C-B6001")).ToHaveValueAsync(Ben);
        await keys.PressAsync("Enter");
        await Expect(board.Locator("li.queue-item[data-child='C-B6001']")).ToHaveCountAsync(0);
        await Expect(bensCard).ToHaveAttributeAsync("data-caseload", (bensCaseload + 1).ToString());

        // A refusal: Chloe is at her ceiling; the reason and the numbers are shown where the keyboard is.
        await TabTo(board, "#worker-for-C-B6002");
        await keys.TypeAsync("Chloe");
        await Expect(board.Locator("#worker-for-C-B6002")).ToHaveValueAsync(Chloe);
        await keys.PressAsync("Enter");
        var refusal = board.Locator("li.queue-item[data-child='C-B6002'] .refusal[role='alert']");
        await Expect(refusal).ToContainTextAsync("caseload-ceiling");
        await Expect(refusal.Locator("[data-figure='ceiling'] b")).ToHaveTextAsync("18");
        await ExpectFocus(board, "#worker-for-C-B6002");
        await Axe.AssertNoViolationsAsync(board, "team board, refusal reached by keyboard");

        // Transfer to another team: open the form, choose the team by typing, give a reason, Enter.
        await TabTo(board, "button[aria-label='Transfer C-B6003 to another team']");
        await keys.PressAsync("Enter");
        await ExpectFocus(board, "#transfer-to-C-B6003");
        await keys.TypeAsync("Children");
        await Expect(board.Locator("#transfer-to-C-B6003")).ToHaveValueAsync("T-CIC");
        await keys.PressAsync("Tab");
        await ExpectFocus(board, "#transfer-reason-C-B6003");
        await keys.TypeAsync("Child became looked after");
        await Axe.AssertNoViolationsAsync(board, "team board, transfer form open");
        await keys.PressAsync("Enter");
        await Expect(board.Locator("li.queue-item[data-child='C-B6003']")).ToHaveCountAsync(0);
        await Expect(board.Locator("#feed li[data-child='C-B6003'][data-kind='transferred-out']")).ToBeVisibleAsync();

        // Move the child just allocated from Ben to Hannah: open Ben's list of children, Move, choose, reason, Enter.
        await TabTo(board, $"[data-worker='{Ben}'] summary");
        await keys.PressAsync("Enter");
        await TabTo(board, "button[aria-label='Move C-B6001 to another worker']");
        await keys.PressAsync("Enter");
        await ExpectFocus(board, "#move-C-B6001");
        await keys.TypeAsync("Hannah");
        await Expect(board.Locator("#move-C-B6001")).ToHaveValueAsync(Hannah);
        await keys.PressAsync("Tab");
        await ExpectFocus(board, "#move-reason-C-B6001");
        await keys.TypeAsync("Caseload rebalanced");
        await keys.PressAsync("Enter");
        await Expect(board.Locator($"[data-worker='{Hannah}'] details li[data-child='C-B6001']")).ToHaveCountAsync(1);
        await Expect(bensCard.Locator("details li[data-child='C-B6001']")).ToHaveCountAsync(0);

        using var http = app.CreateApiClient();
        var transferred = await http.GetFromJsonAsync<JsonElement>("/api/children/C-B6003");
        Assert.Equal("T-CIC", transferred.GetProperty("teamId").GetString());
        await Axe.AssertNoViolationsAsync(board, "team board after keyboard-only work");
        Assert.Empty(app.ScriptErrors(board));
        await board.Context.CloseAsync();
    }

    [BrowserFact]
    public async Task Senior_leaders_override_shows_on_the_board_and_caseload_without_axe_violations()
    {
        // A worker at their ceiling in another team than the one the other tests count on.
        using var http = app.CreateApiClient();
        const string team = "T-SAFEGUARD";
        var teamBoard = await http.GetFromJsonAsync<JsonElement>($"/api/teams/{team}/board");
        var full = teamBoard.GetProperty("workers").EnumerateArray()
            .First(w => w.GetProperty("ceiling").GetInt32() > 0 && w.GetProperty("caseload").GetInt32() >= w.GetProperty("ceiling").GetInt32());
        var workerId = full.GetProperty("workerId").GetString()!;
        await Send(http, "/api/children/C-B7001/refer", new { requestId = "a11y-refer-C-B7001", teamId = team });

        var board = await OpenLive($"team.html?team={team}");
        var item = board.Locator("li.queue-item[data-child='C-B7001']");
        await item.Locator("select").SelectOptionAsync(workerId);
        await item.Locator("select").PressAsync("Enter");
        await Expect(item.Locator(".refusal[role='alert']")).ToContainTextAsync("caseload-ceiling");
        await item.Locator(".refusal summary").ClickAsync();
        await Axe.AssertNoViolationsAsync(board, "team board, override form open");

        await item.GetByLabel("Reason for allocating over the ceiling").FillAsync("Sibling group kept together");
        await item.GetByRole(AriaRole.Button, new() { Name = "Allocate over ceiling" }).ClickAsync();
        await Expect(board.Locator($"[data-worker='{workerId}'] .badge.override")).ToContainTextAsync("over ceiling by override");
        await Axe.AssertNoViolationsAsync(board, "team board with an override");

        var caseload = await OpenLive($"caseload.html?worker={workerId}");
        await Expect(caseload.Locator("tr[data-child='C-B7001'] .badge.override")).ToBeVisibleAsync();
        await Axe.AssertNoViolationsAsync(caseload, "caseload with an override");
        foreach (var page in new[] { board, caseload })
        {
            Assert.Empty(app.ScriptErrors(page));
            await page.Context.CloseAsync();
        }
    }

    [BrowserFact]
    public async Task Boards_reflow_at_320_and_640_pixels_without_scrolling_sideways()
    {
        foreach (var (path, user) in new[]
                 {
                     ($"team.html?team={Team}", Manager), ($"caseload.html?worker={Ben}", Ben), ("leaders.html", "U-HOS"),
                     ("/", Manager), ("report.html", "U-HOS"), ("accessibility.html", "U-HOS"),
                 })
        {
            var page = await app.NewPageAsync(path, user);
            await Expect(page.Locator("main[aria-busy='true'], #teams[aria-busy='true']")).ToHaveCountAsync(0);
            foreach (var width in new[] { 640, 320 })
            {
                await page.SetViewportSizeAsync(width, 800);
                var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
                var (scroll, client) = (widths[0], widths[1]);
                if (scroll > client)
                {
                    var wide = await page.EvaluateAsync<string[]>(WiderThanThePage);
                    Assert.Fail($"{path} at {width} CSS px scrolls sideways: scrollWidth {scroll} > clientWidth {client}; too wide: {string.Join("; ", wide)}");
                }
            }

            if (path.StartsWith("team.html", StringComparison.Ordinal))
            {
                await Axe.AssertNoViolationsAsync(page, "team board at 320 CSS px");
            }

            Assert.Empty(app.ScriptErrors(page));
            await page.Context.CloseAsync();
        }
    }

    /// <summary>The innermost elements reaching past the page's right edge (outside any scrolling region of their own),
    /// to say what broke the reflow.</summary>
    private const string WiderThanThePage = """
        () => {
          const edge = document.documentElement.clientWidth;
          const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
          const over = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > edge + 0.5 && !clipped(e));
          return over.filter(e => !over.some(o => o !== e && e.contains(o))).slice(0, 8)
            .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} right=${Math.round(e.getBoundingClientRect().right)}`);
        }
        """;

    /// <summary>Presses Tab until the focused element matches <paramref name="selector"/>, and checks that focus is visible there.</summary>
    private static async Task TabTo(IPage page, string selector, int most = 400)
    {
        for (var i = 0; i < most; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                await ExpectFocus(page, selector);
                return;
            }
        }

        throw new Xunit.Sdk.XunitException($"{selector} not reached with {most} presses of Tab; focus is on {await page.EvaluateAsync<string>("() => document.activeElement?.outerHTML.slice(0, 200)")}");
    }

    /// <summary>The focused element matches <paramref name="selector"/> and shows it: :focus-visible with an outline.</summary>
    private static async Task ExpectFocus(IPage page, string selector)
    {
        await Expect(page.Locator(selector)).ToBeFocusedAsync();
        var focus = await page.EvaluateAsync<JsonElement>("""
            s => {
              const e = document.activeElement;
              const style = e ? getComputedStyle(e) : null;
              return { matches: !!e?.matches(s), visible: !!e?.matches(':focus-visible'), outline: style?.outlineStyle ?? '', html: e?.outerHTML.slice(0, 160) ?? '' };
            }
            """, selector);
        Assert.True(focus.GetProperty("matches").GetBoolean(), $"Focus is not on {selector} but on {focus.GetProperty("html").GetString()}");
        Assert.True(focus.GetProperty("visible").GetBoolean() && focus.GetProperty("outline").GetString() is not ("none" or ""),
            $"Focus on {selector} is not visible (outline: {focus.GetProperty("outline").GetString()})");
    }

    private async Task<IPage> OpenLive(string path, string signInAs = "U-HOS")
    {
        var page = await app.NewPageAsync(path, signInAs);
        await Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-status", "live");
        await Expect(page.Locator("#board")).ToHaveAttributeAsync("aria-busy", "false");
        return page;
    }

    private static async Task Send(HttpClient api, string url, object body)
    {
        using var response = await api.PostAsJsonAsync(url, body);
        Assert.True(response.IsSuccessStatusCode, $"POST {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
