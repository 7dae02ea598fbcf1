using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.Tests.Infrastructure;

public static class ApiCalls
{
    /// <summary>Sends a request (with a JSON body if given), asserts success naming the answer, and returns its JSON.</summary>
    public static async Task<JsonElement> Send(HttpClient http, HttpMethod method, string url, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
