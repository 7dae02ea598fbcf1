using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Allocation.LoadTests;

/// <summary>
/// The HTTP clients a scenario drives the service with, signed in before the run: the administrator sets up teams
/// and workers, the head of service refers, allocates and reads every board (and holds the hub token). A service
/// without demo sign-in (404) is driven without a token.
/// </summary>
public sealed class ServiceClients : IDisposable
{
    public const string AdministratorId = "U-ADMIN";
    public const string HeadOfServiceId = "U-HOS";

    private ServiceClients(HttpClient admin, HttpClient headOfService, string? headOfServiceToken)
    {
        Admin = admin;
        HeadOfService = headOfService;
        HeadOfServiceToken = headOfServiceToken;
    }

    /// <summary>Creates teams and workers.</summary>
    public HttpClient Admin { get; }

    /// <summary>Referrals, allocations and board reads.</summary>
    public HttpClient HeadOfService { get; }

    /// <summary>For SignalR's <c>AccessTokenProvider</c>; null when the service has no sign-in.</summary>
    public string? HeadOfServiceToken { get; }

    public static async Task<ServiceClients> SignIn(Uri url, int maxConnectionsPerServer = 512)
    {
        var admin = await TokenFor(url, AdministratorId);
        var headOfService = await TokenFor(url, HeadOfServiceId);
        Console.WriteLine(headOfService is null ? "no demo sign-in on this service (404): running without a token" : "signed in as U-ADMIN and U-HOS");
        return new ServiceClients(Create(url, admin, maxConnectionsPerServer), Create(url, headOfService, maxConnectionsPerServer), headOfService);
    }

    public void Dispose()
    {
        Admin.Dispose();
        HeadOfService.Dispose();
    }

    /// <summary>Sends a JSON body; anything but success is an <see cref="HttpRequestException"/> naming the answer.</summary>
    public static async Task Send(HttpClient http, HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static HttpClient Create(Uri url, string? token, int maxConnectionsPerServer)
    {
        var http = new HttpClient(new SocketsHttpHandler
        {
            // Open loop: when the service slows down, requests pile up in flight, each needing a connection.
            MaxConnectionsPerServer = maxConnectionsPerServer,
            // Loopback only, so never through a proxy from the environment.
            UseProxy = false,
        })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static async Task<string?> TokenFor(Uri url, string userId)
    {
        using var http = Create(url, null, 1);
        return await Allocation.Service.Import.ApiSignIn.DemoSignInAsync(http, userId);
    }
}
