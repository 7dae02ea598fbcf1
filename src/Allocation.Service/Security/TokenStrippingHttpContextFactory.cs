using Microsoft.AspNetCore.Http.Features;

namespace Allocation.Service.Security;

/// <summary>
/// Takes <c>access_token</c> out of every request's URL before anything sees the request. Browsers cannot set headers
/// on WebSockets, so SignalR clients send the hub's token in the query string; the hosting layer logs the URL (at
/// whatever level a provider-specific logging setting lets through), and so may tracing. On the hub's paths the token
/// becomes the request's bearer header; elsewhere it is dropped, since the API reads tokens from the header alone.
/// </summary>
public sealed class TokenStrippingHttpContextFactory(IServiceProvider services) : IHttpContextFactory
{
    private readonly DefaultHttpContextFactory _inner = new(services);

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        if (featureCollection.Get<IHttpRequestFeature>() is { } request)
        {
            Strip(request);
        }

        return _inner.Create(featureCollection);
    }

    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);

    private static void Strip(IHttpRequestFeature request)
    {
        const string name = IdentitySetup.AccessTokenQuery + "=";
        if (!request.QueryString.Contains(name, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        string? token = null;
        var kept = new List<string>();
        foreach (var part in request.QueryString.TrimStart('?').Split('&'))
        {
            if (part.StartsWith(name, StringComparison.OrdinalIgnoreCase))
            {
                token ??= Uri.UnescapeDataString(part[name.Length..]);
            }
            else if (part.Length > 0)
            {
                kept.Add(part);
            }
        }

        var query = kept.Count == 0 ? "" : "?" + string.Join('&', kept);
        request.QueryString = query;
        if (request.RawTarget.IndexOf('?') is var at and >= 0)
        {
            request.RawTarget = request.RawTarget[..at] + query;
        }

        if (token is { Length: > 0 } && request.Path.StartsWith("/hubs/", StringComparison.OrdinalIgnoreCase)
            && !request.Headers.ContainsKey("Authorization"))
        {
            request.Headers.Authorization = "Bearer " + token;
        }
    }
}
