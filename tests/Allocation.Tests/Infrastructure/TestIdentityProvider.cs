using System.Net;
using Microsoft.AspNetCore;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Allocation.Tests.Infrastructure;

/// <summary>
/// A real OpenID Connect provider (OpenIddict) on a loopback port, for the page sign-in tests: authorization code
/// with PKCE, a login form, end-session, and one user per role whose tokens carry the claims an authority's provider
/// would (roles, teams, worker id). Its own session lasts <see cref="SessionLifetime"/>, like the service's.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    public const string ClientId = "allocation-pages";
    public const string ClientSecret = "test-client-secret";
    public const string Audience = "allocation-api";
    public const string Password = "correct horse";

    public static readonly IPAddress Address = IPAddress.Parse("127.0.0.2");

    public sealed record User(string UserName, string Id, string Name, string[] Roles, string[] Teams, string? WorkerId);

    public static readonly IReadOnlyList<User> Users =
    [
        new("pm", "W-001", "Priya Manager", ["PracticeManager"], ["T-ASSESS-N"], "W-001"),
        new("sw", "W-002", "Ben Turner", ["SocialWorker"], [], "W-002"),
        new("leader", "U-HOS", "Head of Service", ["SeniorLeader"], [], null),
        new("admin", "U-ADMIN", "Administrator", ["Administrator"], [], null),
    ];

    private readonly WebApplication _app;

    private TestIdentityProvider(WebApplication app, Uri issuer) => (_app, Issuer) = (app, issuer);

    /// <summary>The issuer, on a loopback address of its own (127.0.0.2), so its cookies are not the service's.</summary>
    public Uri Issuer { get; }

    public static async Task<TestIdentityProvider> StartAsync(Uri service, TimeSpan sessionLifetime, int port)
    {
        var issuer = new Uri($"http://{Address}:{port}/");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(o => o.Listen(Address, port));
        // One name for every context of this provider: the registered client must outlive the scope that adds it.
        var database = "idp-" + Guid.NewGuid().ToString("N");
        builder.Services.AddDbContext<DbContext>(o => o.UseInMemoryDatabase(database).UseOpenIddict());
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.Cookie.Name = "idp-session";
            o.LoginPath = "/login";
            o.ExpireTimeSpan = sessionLifetime;
            o.SlidingExpiration = false;
        });
        builder.Services.AddAuthorization();
        builder.Services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<DbContext>())
            .AddServer(o =>
            {
                o.SetIssuer(issuer);
                o.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token").SetEndSessionEndpointUris("connect/logout");
                o.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                o.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Roles);
                o.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
                o.SetIdentityTokenLifetime(sessionLifetime).SetAccessTokenLifetime(sessionLifetime);
                o.UseAspNetCore().DisableTransportSecurityRequirement()
                    .EnableAuthorizationEndpointPassthrough().EnableEndSessionEndpointPassthrough();
            });

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/login", (string? returnUrl) => Results.Content(LoginForm(returnUrl, null), "text/html"));
        app.MapPost("/login", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            var returnUrl = form["returnUrl"].ToString();
            if (Users.FirstOrDefault(u => u.UserName == form["username"]) is not { } user || form["password"] != Password)
            {
                return Results.Content(LoginForm(returnUrl, "Unknown user or wrong password."), "text/html", statusCode: 401);
            }

            await http.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.UserName)], "password")));
            return Results.LocalRedirect(returnUrl.StartsWith("/connect/", StringComparison.Ordinal) ? returnUrl : "/");
        });
        app.MapMethods("/connect/authorize", ["GET", "POST"], async (HttpContext http) =>
        {
            var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
            var session = await http.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            if (!session.Succeeded || Users.FirstOrDefault(u => u.UserName == session.Principal.Identity?.Name) is not { } user)
            {
                return Results.Challenge(new AuthenticationProperties { RedirectUri = http.Request.Path + http.Request.QueryString },
                    [CookieAuthenticationDefaults.AuthenticationScheme]);
            }

            var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, user.Id).SetClaim(Claims.Name, user.Name);
            identity.SetClaims("roles", [.. user.Roles]).SetClaims("teams", [.. user.Teams]);
            if (user.WorkerId is { } worker)
            {
                identity.SetClaim("worker_id", worker);
            }

            identity.SetScopes(request.GetScopes());
            identity.SetResources(Audience);
            identity.SetDestinations(_ => [Destinations.AccessToken, Destinations.IdentityToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });
        app.MapMethods("/connect/logout", ["GET", "POST"], async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.SignOut(new AuthenticationProperties { RedirectUri = "/" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        });

        await app.StartAsync();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            await applications.CreateAsync(new OpenIddictApplicationDescriptor
            {
                ClientId = ClientId,
                ClientSecret = ClientSecret,
                ClientType = ClientTypes.Confidential,
                RedirectUris = { new Uri(service, "signin-oidc") },
                PostLogoutRedirectUris = { new Uri(service, "signout-callback-oidc") },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.EndSession,
                    Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code,
                    Permissions.Scopes.Profile, Permissions.Scopes.Roles,
                },
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            });
        }

        return new TestIdentityProvider(app, issuer);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string LoginForm(string? returnUrl, string? error) => $"""
        <!doctype html>
        <html lang="en-GB"><head><meta charset="utf-8"><title>Test provider: sign in</title></head>
        <body><main><h1>Sign in to the test provider</h1>
        {(error is null ? "" : $"<p role=\"alert\" id=\"error\">{HtmlEncoder.Default.Encode(error)}</p>")}
        <form method="post" action="/login">
          <input type="hidden" name="returnUrl" value="{HtmlEncoder.Default.Encode(returnUrl ?? "/")}">
          <label>User name <input name="username" id="username" autocomplete="username"></label>
          <label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
          <button type="submit" id="sign-in">Sign in</button>
        </form></main></body></html>
        """;
}
