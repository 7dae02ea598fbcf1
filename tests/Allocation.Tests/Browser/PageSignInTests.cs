using Allocation.Service.Security;
using Allocation.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Allocation.Tests.Browser;

/// <summary>
/// The pages signed in through a real OpenID Connect provider (<see cref="TestIdentityProvider"/>), as an authority's
/// staff would: Chromium goes through the provider's sign-in form and back, the board is live on the session cookie,
/// another team's board is refused, signing out closes the hub and removes the cookie, and an expired session sends
/// the user to sign in again before any data is shown.
/// </summary>
[Collection(SignInApp.Collection)]
public sealed class PageSignInTests(SignInApp app, ITestOutputHelper output)
{
    private const string Team = "T-ASSESS-N";
    private const string Ben = "W-002";

    [BrowserFact]
    public async Task Practice_manager_signs_in_through_the_provider_and_her_board_is_live_on_the_session_cookie()
    {
        var page = await SignInAsync($"team.html?team={Team}", "pm");
        await Expect(page.Locator($"[data-worker='{Ben}']")).ToBeVisibleAsync();
        await Expect(page.Locator("#signed-in")).ToContainTextAsync("Priya Manager");

        // The browser holds only the session cookie: HttpOnly, Secure, SameSite; no token in the page's storage.
        var cookie = Assert.Single(await page.Context.CookiesAsync([app.BaseAddress.ToString()]), c => c.Name == PageSignIn.CookieName);
        Assert.True(cookie.HttpOnly && cookie.Secure);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => sessionStorage.length + localStorage.length"));
        Assert.DoesNotContain("allocation.session", await page.EvaluateAsync<string>("() => document.cookie"));

        // A command on her session: refused without the anti-forgery header, applied with it, and pushed to the board.
        var request = page.Context.APIRequest;
        var body = new { requestId = "oidc-refer-1", teamId = Team };
        var forged = await request.PostAsync("/api/children/C-OIDC1/refer", new() { DataObject = body });
        Assert.Equal(403, forged.Status);
        var refer = await request.PostAsync("/api/children/C-OIDC1/refer",
            new() { DataObject = body, Headers = new Dictionary<string, string> { [PageSignIn.AntiForgeryHeader] = "1" } });
        Assert.True(refer.Ok, $"refer: {refer.Status} {await refer.TextAsync()}");
        await Expect(page.Locator("li.queue-item[data-child='C-OIDC1']")).ToBeVisibleAsync();
        await Close(page);
    }

    [BrowserFact]
    public async Task Social_worker_signed_in_through_the_provider_is_refused_another_teams_board()
    {
        var page = await SignInAsync($"team.html?team={Team}", "sw");
        await Expect(page.Locator("#error")).ToContainTextAsync("team-not-yours");
        await Expect(page.Locator("[data-worker]")).ToHaveCountAsync(0);
        await Close(page);
    }

    [BrowserFact]
    public async Task Signing_out_closes_the_hub_connection_ends_the_session_and_removes_the_cookie()
    {
        var page = await SignInAsync($"team.html?team={Team}", "pm");
        var closed = await LiveHubAsync(page);
        var session = Assert.Single(await page.Context.CookiesAsync([app.BaseAddress.ToString()]), c => c.Name == PageSignIn.CookieName);

        await page.Locator("#sign-out").ClickAsync();
        await closed.WaitAsync(TimeSpan.FromSeconds(10));
        await page.WaitForURLAsync(new Uri(app.BaseAddress, PageSignIn.SignedOutPage).ToString());
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();
        await Axe.AssertNoViolationsAsync(page, "signed out");
        Assert.DoesNotContain(await page.Context.CookiesAsync([app.BaseAddress.ToString()]), c => c.Name == PageSignIn.CookieName);

        // The session is gone on the server too: the old cookie, replayed, is not signed in.
        using var replay = new HttpClient { BaseAddress = app.BaseAddress };
        replay.DefaultRequestHeaders.Add("Cookie", $"{PageSignIn.CookieName}={session.Value}");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await replay.GetAsync("/api/me")).StatusCode);

        // And the provider's session ended: opening a board asks for the password again.
        await page.GotoAsync($"team.html?team={Team}");
        await Expect(page.Locator("#password")).ToBeVisibleAsync();
        await Close(page);
    }

    [BrowserFact]
    public async Task An_expired_session_sends_the_user_to_sign_in_again_with_no_data_shown()
    {
        var signedInAt = DateTime.UtcNow;
        var page = await SignInAsync($"team.html?team={Team}", "pm");
        var closed = await LiveHubAsync(page);
        // The board's live connection ends with the session (and so after it has expired), whatever the page does.
        await closed.WaitAsync(SignInApp.SessionLifetime + TimeSpan.FromSeconds(10));
        Assert.True(DateTime.UtcNow - signedInAt >= SignInApp.SessionLifetime - TimeSpan.FromSeconds(2), "the hub closed before the session expired");
        // The same browser (its cookies) comes back, in a new tab.
        var browser = page.Context;
        await page.CloseAsync();

        var again = await browser.NewPageAsync();
        var boardData = new List<string>();
        again.Response += (_, response) =>
        {
            if (response.Url.Contains("/api/teams/", StringComparison.Ordinal) && response.Ok)
            {
                boardData.Add(response.Url);
            }
        };
        await again.GotoAsync($"team.html?team={Team}");
        await Expect(again.Locator("#password")).ToBeVisibleAsync();
        Assert.StartsWith(app.Provider.Issuer.ToString(), again.Url, StringComparison.Ordinal);
        Assert.Empty(boardData);
        Assert.DoesNotContain("Ben Turner", await again.ContentAsync(), StringComparison.Ordinal);
        output.WriteLine($"After {SignInApp.SessionLifetime.TotalSeconds:0} s the board sent the browser to {again.Url}");
        await browser.CloseAsync();
    }

    private async Task<IPage> SignInAsync(string path, string userName)
    {
        var page = await app.NewPageAsync("about:blank", signInAs: null);
        var trail = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Response += (_, r) => trail.Enqueue($"{r.Status} {r.Request.Method} {r.Url} -> {r.Headers.GetValueOrDefault("location")}");
        await page.GotoAsync(path);
        try
        {
            await Expect(page.Locator("#password")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        }
        catch (PlaywrightException)
        {
            output.WriteLine($"Not at the provider's sign-in: {page.Url}\n{string.Join("\n", trail.Take(40))}\n{string.Join("\n", app.ScriptErrors(page))}");
            throw;
        }

        Assert.StartsWith(app.Provider.Issuer.ToString(), page.Url, StringComparison.Ordinal);
        await page.FillAsync("#username", userName);
        await page.FillAsync("#password", TestIdentityProvider.Password);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Uri(app.BaseAddress, path).ToString());
        return page;
    }

    /// <summary>The board reloaded with its hub connection watched: the returned task completes when it closes.</summary>
    private static async Task<Task> LiveHubAsync(IPage page)
    {
        await Expect(page.Locator($"[data-worker='{Ben}']")).ToBeVisibleAsync();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        page.WebSocket += (_, socket) =>
        {
            if (socket.Url.Contains("/hubs/boards", StringComparison.Ordinal))
            {
                socket.Close += (_, _) => closed.TrySetResult();
            }
        };
        await page.ReloadAsync();
        await Expect(page.Locator("#connection")).ToContainTextAsync("Live");
        return closed.Task;
    }

    private async Task Close(IPage page)
    {
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }
}

/// <summary>The demo authority with no demo sign-in: users sign in through <see cref="TestIdentityProvider"/>.</summary>
public sealed class SignInApp : BrowserApp
{
    public const string Collection = "browser-sign-in";

    /// <summary>Short, so one test can wait for a session to expire; each test signs in afresh.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromSeconds(25);

    private readonly int _providerPort;
    private TestIdentityProvider? _provider;

    public SignInApp() : this(FreePorts.Next(TestIdentityProvider.Address))
    {
    }

    private SignInApp(int providerPort) : base(new Dictionary<string, string?>
    {
        ["Identity:Authority"] = $"http://{TestIdentityProvider.Address}:{providerPort}/",
        ["Identity:Audience"] = TestIdentityProvider.Audience,
        ["Identity:RequireHttpsMetadata"] = "false",
        ["Identity:ClientId"] = TestIdentityProvider.ClientId,
        ["Identity:ClientSecret"] = TestIdentityProvider.ClientSecret,
        ["Identity:Scopes"] = "openid profile roles",
        ["Identity:SessionLifetime"] = SessionLifetime.ToString(),
    }) => _providerPort = providerPort;

    public TestIdentityProvider Provider => _provider ?? throw new InvalidOperationException("The provider has not started.");

    public override async Task InitializeAsync()
    {
        _provider = await TestIdentityProvider.StartAsync(BaseAddress, SessionLifetime, _providerPort);
        await base.InitializeAsync();
        // The first sign-in reads the provider's discovery document: done here, so no test waits for it.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = BaseAddress };
        using var challenge = await http.GetAsync(PageSignIn.SignInPath);
        if (challenge.StatusCode != System.Net.HttpStatusCode.Redirect || challenge.Headers.Location?.ToString().StartsWith(_provider.Issuer.ToString(), StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException($"Sign-in did not send the browser to the provider: {(int)challenge.StatusCode} {challenge.Headers.Location}");
        }
    }

    protected override async ValueTask DisposeMoreAsync()
    {
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }
}

[CollectionDefinition(SignInApp.Collection)]
public sealed class SignInCollection : ICollectionFixture<SignInApp>
{
}
