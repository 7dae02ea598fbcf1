using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Allocation.Service.Hosting;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.FileProviders;

namespace Allocation.Tests.Security;

/// <summary>Security headers on every page, the API description's bearer scheme.</summary>
[Collection(AppCollection.Name)]
public sealed partial class HardeningTests(AppFactory factory)
{
    [Fact]
    public async Task Every_page_carries_the_strict_content_security_policy_and_nosniff()
    {
        using var http = factory.CreateClient();
        var pages = Pages(factory.Services.GetRequiredService<IWebHostEnvironment>().WebRootFileProvider, "").ToList();
        Assert.Contains("/team.html", pages);
        Assert.Contains("/report.html", pages);
        foreach (var page in pages.Append("/"))
        {
            using var response = await http.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Equal(SecurityHeaders.Policy, csp);
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
            // The policy would refuse them in the browser; the files must not need them.
            var html = await response.Content.ReadAsStringAsync();
            Assert.False(InlineScript().IsMatch(html), $"{page} has an inline <script>");
            Assert.False(InlineStyle().IsMatch(html), $"{page} has an inline style");
        }

        // The packages' pages are framed by no one either.
        using var docs = await http.GetAsync("/api-docs");
        Assert.Contains("frame-ancestors 'none'", string.Join(";", docs.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task OpenApi_declares_the_bearer_scheme_and_each_protected_operation_requires_it()
    {
        using var http = factory.CreateClient();
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var scheme = doc.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty(OpenApiSecurity.Scheme);
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        var operations = doc.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Key: $"{o.Name.ToUpperInvariant()} {p.Name}", Operation: o.Value)))
            .ToList();
        Assert.True(operations.Count > 20);
        foreach (var (key, operation) in operations)
        {
            var requires = operation.TryGetProperty("security", out var security)
                && security.EnumerateArray().Any(r => r.TryGetProperty(OpenApiSecurity.Scheme, out _));
            var open = key.Contains("/api/demo/", StringComparison.Ordinal) || key.Contains("/health", StringComparison.Ordinal)
                || key.Contains(" /auth/", StringComparison.Ordinal);
            Assert.True(requires != open, $"{key}: security requirement {(requires ? "present" : "missing")}");
        }
    }

    private static IEnumerable<string> Pages(IFileProvider files, string folder)
    {
        foreach (var file in files.GetDirectoryContents(folder))
        {
            var path = $"{folder}/{file.Name}";
            if (file.IsDirectory)
            {
                foreach (var page in Pages(files, path))
                {
                    yield return page;
                }
            }
            else if (file.Name.EndsWith(".html", StringComparison.Ordinal))
            {
                yield return path;
            }
        }
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"<style|\sstyle\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineStyle();
}
