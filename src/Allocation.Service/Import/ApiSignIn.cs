using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.Service.Import;

/// <summary>
/// How a command-line client of the API gets its bearer token: the one it was given (<c>--token</c> or
/// <c>ALLOCATION_TOKEN</c>), else the demo administrator's from <c>POST /api/demo/sign-in</c>. A service without that
/// endpoint (404) takes requests without a token, and the client carries on without one.
/// The load tests compile this same file, so every client of the service signs in the same way.
/// </summary>
internal static class ApiSignIn
{
    public const string TokenVariable = "ALLOCATION_TOKEN";

    /// <summary>The demo administrator, who may import.</summary>
    public const string DemoAdministrator = "U-ADMIN";

    /// <summary>Sets <paramref name="http"/>'s Authorization header; returns how the token was got ("given", "demo sign-in" or "none").</summary>
    public static async Task<string> AuthorizeAsync(HttpClient http, string? token = null, CancellationToken cancellationToken = default)
    {
        token ??= Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        var source = "given";
        if (token is null)
        {
            token = await DemoSignInAsync(http, cancellationToken: cancellationToken);
            source = token is null ? "none" : "demo sign-in";
        }

        http.DefaultRequestHeaders.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        return source;
    }

    /// <summary>A demo user's access token (the administrator's unless another is named), or null when the service
    /// has no demo sign-in (404).</summary>
    public static async Task<string?> DemoSignInAsync(HttpClient http, string userId = DemoAdministrator, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync("/api/demo/sign-in", new { userId }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"POST /api/demo/sign-in as {userId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}",
                null, response.StatusCode);
        }

        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return answer.RootElement.TryGetProperty("accessToken", out var token) && token.GetString() is { Length: > 0 } value
            ? value
            : throw new HttpRequestException("The demo sign-in answered without an accessToken.");
    }
}
