using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Allocation.LoadTests;

/// <summary>
/// Every HTTP client a scenario uses comes from here. Before the run it signs in as the given demo user
/// (<c>POST /api/demo/sign-in</c>, Development only) and sends the access token on every request; a service without
/// that endpoint (404) is driven without a token.
/// </summary>
public static class ServiceClients
{
    /// <summary>The authority's administrator: teams and workers.</summary>
    public const string Administrator = "U-ADMIN";

    /// <summary>The head of service: referrals and allocations in every team.</summary>
    public const string HeadOfService = "U-HOS";

    private sealed record SignInBody(string UserId);

    private sealed record SignInAnswer(string? AccessToken);

    public static async Task<HttpClient> SignedIn(Uri url, string userId)
    {
        var http = Create(url);
        using var response = await http.PostAsJsonAsync("/api/demo/sign-in", new SignInBody(userId), Json.Options);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return http;
        }

        var answer = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<SignInAnswer>(Json.Options);
        if (string.IsNullOrEmpty(answer?.AccessToken))
        {
            throw new HttpRequestException($"Sign-in as {userId} answered without an accessToken.");
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", answer.AccessToken);
        return http;
    }

    private static HttpClient Create(Uri url) => new(new SocketsHttpHandler
    {
        // Open loop: when the service slows down, requests pile up in flight, each needing a connection.
        MaxConnectionsPerServer = 2048,
        // Loopback only, so never through a proxy from the environment.
        UseProxy = false,
    })
    {
        BaseAddress = url,
        Timeout = TimeSpan.FromSeconds(30),
    };
}
