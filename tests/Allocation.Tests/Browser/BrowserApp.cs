using System.Collections.Concurrent;
using System.Net;
using Allocation.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Allocation.Tests.Browser;

/// <summary>
/// The service with the demo authority, listening on a real loopback socket, and one headless Chromium driven by
/// Playwright. Playwright cannot download its own browsers here, so it drives the system's Chromium.
/// </summary>
public class BrowserApp : AppFactory, IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    private readonly int _port = FreePorts.Next();
    private readonly ConcurrentDictionary<IPage, ConcurrentQueue<string>> _scriptErrors = new();
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public BrowserApp() : this([])
    {
    }

    /// <summary>The demo authority with these settings besides.</summary>
    protected BrowserApp(Dictionary<string, string?> settings) : base(new Dictionary<string, string?>(settings) { ["Seeding:Demo"] = "true" })
    {
    }

    public static bool IsBrowserAvailable => File.Exists(ChromiumPath);

    public Uri BaseAddress => new($"http://127.0.0.1:{_port}/");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException($"No browser: Chromium is not installed at {ChromiumPath}.");

    /// <summary>Where screenshots go: <c>ALLOCATION_SCREENSHOTS</c>, else the git-ignored <c>artifacts/screenshots</c> of the repository.</summary>
    public static string ScreenshotDirectory { get; } = System.Environment.GetEnvironmentVariable("ALLOCATION_SCREENSHOTS") is { Length: > 0 } configured
        ? configured
        : Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    public virtual async Task InitializeAsync()
    {
        UseKestrel(o => o.Listen(IPAddress.Loopback, _port));
        // Returns once hosted services have started, so the demo authority is seeded by then.
        StartServer();
        if (!IsBrowserAvailable)
        {
            return;
        }

        // Generous for a loaded two-core CI machine; a passing run takes well under a second per step.
        Assertions.SetDefaultExpectTimeout(10_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    /// <summary>A fresh browser context (its own cookies and storage), as a separate user's window, signed in through
    /// the demo sign-in as <paramref name="signInAs"/> (a seeded user id; null: not signed in).</summary>
    public async Task<IPage> NewPageAsync(string path, string? signInAs = "U-HOS")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
            Locale = "en-GB",
            TimezoneId = "Europe/London",
        });
        if (signInAs is not null)
        {
            // What the sign-in page stores, put there before the page's own scripts run.
            var session = await SignInAsync(signInAs);
            await context.AddInitScriptAsync($"sessionStorage.setItem('allocation.session', JSON.stringify({session}));");
        }

        // The Content-Security-Policy refuses inline script and style; a page that breaks it reports here.
        await context.AddInitScriptAsync(
            "document.addEventListener('securitypolicyviolation', e => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));");
        var page = await context.NewPageAsync();
        var errors = _scriptErrors.GetOrAdd(page, _ => new ConcurrentQueue<string>());
        page.PageError += (_, error) => errors.Enqueue(error);
        // A refused command is a 4xx response, which Chromium also logs as "Failed to load resource": expected here.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                errors.Enqueue(message.Text);
            }
        };
        page.SetDefaultTimeout(10_000);
        await page.GotoAsync(path);
        return page;
    }

    /// <summary>A board opened as <paramref name="signInAs"/>, once its live connection is up and its snapshot drawn.</summary>
    public async Task<IPage> OpenLiveAsync(string path, string signInAs = "U-HOS")
    {
        var page = await NewPageAsync(path, signInAs);
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-status", "live");
        await Assertions.Expect(page.Locator("#board")).ToHaveAttributeAsync("aria-busy", "false");
        return page;
    }

    /// <summary>Closes pages after checking each in the state the test left it: no script error, no axe violation.</summary>
    public async Task CloseCheckedAsync(params IPage[] pages)
    {
        foreach (var page in pages)
        {
            Assert.Empty(ScriptErrors(page));
            await Axe.AssertNoViolationsAsync(page, "the page as the test left it");
            await page.Context.CloseAsync();
        }
    }

    /// <summary>A screenshot of a state worth seeing, in <see cref="ScreenshotDirectory"/>, which axe checks too.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
        await Axe.AssertNoViolationsAsync(page, name);
    }

    /// <summary>Uncaught exceptions and console errors the page's scripts raised.</summary>
    public IReadOnlyCollection<string> ScriptErrors(IPage page) => _scriptErrors.TryGetValue(page, out var errors) ? errors.ToArray() : [];

    /// <summary>An API client signed in as <paramref name="userId"/> (default: the demo's head of service).</summary>
    public HttpClient CreateApiClient(string userId = "U-HOS")
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        using var json = System.Text.Json.JsonDocument.Parse(SignInAsync(userId).GetAwaiter().GetResult());
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Bearer", json.RootElement.GetProperty("accessToken").GetString());
        return client;
    }

    /// <summary>The demo sign-in's answer for a seeded user: token, expiry and the user.</summary>
    public async Task<string> SignInAsync(string userId)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var response = await http.PostAsync("/api/demo/sign-in",
            new StringContent($$"""{"userId":"{{userId}}"}""", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        await DisposeAsync();
        await DisposeMoreAsync();
    }

    /// <summary>What a derived fixture started besides, stopped after the service.</summary>
    protected virtual ValueTask DisposeMoreAsync() => ValueTask.CompletedTask;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Allocation.sln")))
            {
                return dir.FullName;
            }
        }

        return Path.Combine(Path.GetTempPath(), "allocation");
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserApp>
{
    public const string Name = "browser";
}
