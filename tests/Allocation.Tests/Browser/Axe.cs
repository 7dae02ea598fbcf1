using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Allocation.Tests.Browser;

/// <summary>
/// axe-core (vendored in <c>Browser/axe/</c>, the npm package's <c>axe.min.js</c>) run in the page as it is now, with
/// the WCAG 2.0, 2.1 and 2.2 level A and AA rules
/// (and a few best-practice rules, <see cref="ExtraRules"/>). Any violation fails the test with the rule, its help text and the
/// elements it found. Browser tests call it at every page and state they reach (see <c>LiveBoardsTests.Screenshot</c>).
/// </summary>
public static class Axe
{
    public static readonly string[] Tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

    /// <summary>axe's best-practice rules for what WCAG asks in words but axe does not tag: headings in order (1.3.1),
    /// one main landmark and one h1 per page.</summary>
    public static readonly string[] ExtraRules = ["heading-order", "empty-heading", "page-has-heading-one", "landmark-one-main", "landmark-unique"];

    private static readonly Lazy<string> Source = new(() =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Browser", "axe", "axe.min.js")));

    // Run through the debugging protocol, as a function, so that a strict Content-Security-Policy on the page
    // (which would refuse an injected <script>) does not stop the check.
    private const string Run = """
        async ({ tags, extra }) => {
          const rules = axe.getRules(tags).map(r => r.ruleId).concat(extra);
          const result = await axe.run(document, { runOnly: { type: 'rule', values: rules }, resultTypes: ['violations'] });
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({ target: n.target.map(String).join(' '), summary: n.failureSummary ?? '' })),
          }));
        }
        """;

    /// <summary>Fails with every violation found on <paramref name="page"/>; <paramref name="state"/> names what the
    /// page shows (e.g. "team board, refusal shown") for the message.</summary>
    public static async Task AssertNoViolationsAsync(IPage page, string state)
    {
        var violations = await ViolationsAsync(page);
        if (violations.Count > 0)
        {
            throw new Xunit.Sdk.XunitException(Describe(state, page.Url, violations));
        }
    }

    public static async Task<IReadOnlyList<Violation>> ViolationsAsync(IPage page)
    {
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe === 'object'"))
        {
            await page.EvaluateAsync("() => {\n" + Source.Value + "\n}");
        }

        var json = await page.EvaluateAsync<JsonElement>(Run, new { tags = Tags, extra = ExtraRules });
        return json.Deserialize<List<Violation>>(JsonOptions) ?? [];
    }

    public static string Describe(string state, string url, IReadOnlyList<Violation> violations)
    {
        var text = new StringBuilder($"axe found {violations.Count} WCAG 2.2 A/AA violation(s) on {state} ({url}):");
        foreach (var v in violations)
        {
            text.Append($"\n- {v.Id} ({v.Impact}): {v.Help}");
            foreach (var node in v.Nodes.Take(10))
            {
                text.Append($"\n    {node.Target}: {node.Summary.ReplaceLineEndings(" ")}");
            }

            if (v.Nodes.Count > 10)
            {
                text.Append($"\n    … and {v.Nodes.Count - 10} more");
            }
        }

        return text.ToString();
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public sealed record Violation(string Id, string? Impact, string Help, IReadOnlyList<Node> Nodes);

    public sealed record Node(string Target, string Summary);
}
