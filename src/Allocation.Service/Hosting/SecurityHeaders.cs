namespace Allocation.Service.Hosting;

/// <summary>
/// Headers on every response: a Content-Security-Policy that allows only this origin's own script and style files (no
/// inline script or style, no framing), <c>X-Content-Type-Options: nosniff</c>, no referrer. The two third-party pages,
/// the API reference and the job dashboards, render inline script and style of their own, so they get the same policy
/// with inline allowed; they are still framed by no one.
/// </summary>
public static class SecurityHeaders
{
    public const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public const string ThirdPartyPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Paths whose pages come from packages (Scalar, Hangfire, the Orleans dashboard).</summary>
    private static readonly PathString[] ThirdPartyPages = ["/api-docs", "/scalar", "/hangfire", "/dashboard"];

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var path = context.Request.Path;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ThirdPartyPages.Any(p => path.StartsWithSegments(p)) ? ThirdPartyPolicy : Policy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        return next(context);
    });
}
