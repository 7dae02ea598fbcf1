using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Security;

/// <summary>
/// Sign-in for the pages through the authority's OpenID Connect provider, as a backend for frontend: the service runs
/// the authorization-code flow with PKCE as a confidential client, keeps the tokens on the server (the session store),
/// and gives the browser only an HttpOnly, Secure, SameSite=Lax session cookie, which the pages and the hub send.
/// A state-changing request that comes with the cookie must also carry <see cref="AntiForgeryHeader"/>, which a page
/// on another site cannot add without the service's consent. API clients keep sending bearer tokens. On only when
/// <c>Identity:ClientId</c> is set.
/// </summary>
public static class PageSignIn
{
    /// <summary>Picks the bearer scheme for requests with a token and the session cookie otherwise.</summary>
    public const string Scheme = "allocation";
    public const string SessionScheme = "allocation-session";
    public const string ProviderScheme = "provider";
    public const string CookieName = "allocation.session";
    public const string AntiForgeryHeader = "X-Allocation-Request";
    public const string SignInPath = "/auth/sign-in";
    public const string SignOutPath = "/auth/sign-out";
    public const string SignedOutPage = "/signed-out.html";
    private const string IdTokenItem = "allocation:id_token";

    internal static void AddPageSignIn(this AuthenticationBuilder auth, IdentityProviderOptions identity)
    {
        var services = auth.Services;
        services.AddDistributedMemoryCache();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ITicketStore, DistributedSessionStore>();
        // The hub's access_token is already the bearer header here (TokenStrippingHttpContextFactory).
        auth.AddPolicyScheme(Scheme, "Bearer token or session cookie", o => o.ForwardDefaultSelector = http =>
            HasBearer(http.Request) ? JwtBearerDefaults.AuthenticationScheme : SessionScheme);
        auth.AddCookie(SessionScheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            // Lax, not Strict: the provider's redirect back is a navigation from its site, and must find the session.
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.ExpireTimeSpan = identity.SessionLifetime;
            o.SlidingExpiration = false;
            o.LoginPath = SignInPath;
            o.Events.OnRedirectToLogin = context => RedirectOr(context, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = context => RedirectOr(context, StatusCodes.Status403Forbidden);
        });
        services.AddOptions<CookieAuthenticationOptions>(SessionScheme).Configure<ITicketStore>((o, store) => o.SessionStore = store);
        auth.AddOpenIdConnect(ProviderScheme, o =>
        {
            o.SignInScheme = SessionScheme;
            o.Authority = identity.Authority;
            o.RequireHttpsMetadata = identity.RequireHttpsMetadata;
            o.ClientId = identity.ClientId;
            o.ClientSecret = identity.ClientSecret;
            o.ResponseType = "code";
            o.UsePkce = true;
            // Kept in the server-side session (for the provider's sign-out), never in the browser.
            o.SaveTokens = true;
            o.MapInboundClaims = false;
            // The claims come from the id token (see README: the provider must put roles and teams in it).
            o.GetClaimsFromUserInfoEndpoint = false;
            o.Scope.Clear();
            foreach (var scope in identity.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                o.Scope.Add(scope);
            }

            o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.Always;
            o.NonceCookie.SecurePolicy = CookieSecurePolicy.Always;
            o.TokenValidationParameters.NameClaimType = identity.Claims.Name;
            o.Events.OnTokenValidated = context =>
            {
                context.Principal = IdentitySetup.MapClaims(context.Principal, context.HttpContext.RequestServices.GetRequiredService<IOptions<IdentityProviderOptions>>().Value);
                return Task.CompletedTask;
            };
            // The pages sign out with a fetch (carrying the anti-forgery header), so they get the provider's address
            // to go to rather than a redirect that fetch would follow. The handler would protect the properties into
            // the state after this event; answering here, we do it, so that the provider's return to
            // /signout-callback-oidc finds where to send the browser (the signed-out page).
            o.Events.OnRedirectToIdentityProviderForSignOut = async context =>
            {
                var message = context.ProtocolMessage;
                message.IdTokenHint ??= context.HttpContext.Items[IdTokenItem] as string;
                message.State = context.Options.StateDataFormat.Protect(context.Properties);
                context.Response.StatusCode = StatusCodes.Status200OK;
                await context.Response.WriteAsJsonAsync(new SignedOut(message.CreateLogoutRequestUrl()));
                context.HandleResponse();
            };
        });
    }

    public sealed record SignedOut(string Location);

    /// <summary>The sign-in and sign-out addresses the pages use; in the demo they lead to the demo's sign-in page.</summary>
    public static IEndpointRouteBuilder MapPageSignIn(this IEndpointRouteBuilder app)
    {
        var enabled = app.ServiceProvider.GetService<ITicketStore>() is not null;
        var group = app.MapGroup("/auth").WithTags("Identity").AllowAnonymous();
        group.MapGet("/sign-in", (string? returnUrl) =>
        {
            var back = IsLocal(returnUrl) ? returnUrl! : "/";
            return enabled
                ? Results.Challenge(new AuthenticationProperties { RedirectUri = back }, [ProviderScheme])
                : Results.Redirect($"/signin.html?return={Uri.EscapeDataString(back)}");
        }).WithSummary("Pages: signs in through the authority's provider and comes back to returnUrl (a path on this site).");

        group.MapPost("/sign-out", async Task<IResult> (HttpContext http) =>
        {
            if (!enabled)
            {
                return TypedResults.Ok(new SignedOut("/signin.html"));
            }

            if (await http.GetTokenAsync(SessionScheme, "id_token") is not { } idToken)
            {
                return TypedResults.Ok(new SignedOut(SignedOutPage));
            }

            // The session (and its tokens) goes first; the provider's sign-out names the user by the id token.
            http.Items[IdTokenItem] = idToken;
            await http.SignOutAsync(SessionScheme);
            await http.SignOutAsync(ProviderScheme, new AuthenticationProperties { RedirectUri = SignedOutPage });
            return Results.Empty;
        }).WithSummary("Pages: ends the session here and returns the provider's sign-out address to go to.");
        return app;
    }

    /// <summary>Refuses a state-changing request that relies on the session cookie without the anti-forgery header.</summary>
    public static IApplicationBuilder UseAntiForgeryHeader(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var request = http.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            && request.Cookies.ContainsKey(CookieName)
            && !HasBearer(request)
            && (request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments(SignOutPath))
            && request.Headers[AntiForgeryHeader] != "1")
        {
            await Results.Problem($"A request signed in with the session cookie must carry the header {AntiForgeryHeader}: 1.",
                statusCode: StatusCodes.Status403Forbidden, title: "Missing anti-forgery header",
                extensions: new Dictionary<string, object?> { ["rule"] = "anti-forgery-header" }).ExecuteAsync(http);
            return;
        }

        await next(http);
    });

    private static bool HasBearer(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    private static bool IsLocal(string? url) => url is { Length: > 0 } && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal);

    /// <summary>The API, hub and scrape endpoint answer 401/403; only a page navigation is sent to sign in.</summary>
    private static Task RedirectOr(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        var path = context.Request.Path;
        if (status == StatusCodes.Status403Forbidden || path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs") || path.StartsWithSegments("/metrics"))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>The session's tickets (with the provider's tokens) on the server; the cookie holds only the key.
    /// In memory by default: with several nodes, register a shared <see cref="IDistributedCache"/>.</summary>
    private sealed class DistributedSessionStore(IDistributedCache cache, TimeProvider time) : ITicketStore
    {
        private const string Prefix = "allocation-session:";

        public async Task<string> StoreAsync(AuthenticationTicket ticket)
        {
            var key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            await RenewAsync(key, ticket);
            return key;
        }

        public Task RenewAsync(string key, AuthenticationTicket ticket) =>
            cache.SetAsync(Prefix + key, TicketSerializer.Default.Serialize(ticket), new DistributedCacheEntryOptions
            {
                AbsoluteExpiration = ticket.Properties.ExpiresUtc ?? time.GetUtcNow().AddHours(8),
            });

        public async Task<AuthenticationTicket?> RetrieveAsync(string key) =>
            await cache.GetAsync(Prefix + key) is { } bytes ? TicketSerializer.Default.Deserialize(bytes) : null;

        public Task RemoveAsync(string key) => cache.RemoveAsync(Prefix + key);
    }
}
