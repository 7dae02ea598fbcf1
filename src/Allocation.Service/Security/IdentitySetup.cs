using System.Security.Claims;
using Allocation.Service.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Service.Security;

/// <summary>
/// The authority's identity provider (section <c>Identity</c>): OIDC authority and audience, and which claims carry the
/// user id, name, roles, teams and worker id. Role claim values are matched against <see cref="RoleValues"/>, so the
/// provider's group names need not be ours.
/// </summary>
public sealed class IdentityProviderOptions
{
    public const string SectionName = "Identity";

    /// <summary>The OIDC issuer (its discovery document gives the signing keys). Required outside Development.</summary>
    public string? Authority { get; set; }

    /// <summary>This API's audience at the provider: a token issued for another application is refused. Required outside
    /// Development.</summary>
    public string? Audience { get; set; }

    /// <summary>The signing algorithms accepted (JOSE names, e.g. <c>RS256</c>, <c>ES256</c>); default <c>RS256</c>.</summary>
    public string[]? SigningAlgorithms { get; set; }

    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The pages' client at the provider (a confidential client, authorization code with PKCE). Without it
    /// the pages cannot sign in and only API clients with the provider's tokens can use the service.</summary>
    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The scopes the pages ask for, space-separated; the id token must carry the claims below.</summary>
    public string Scopes { get; set; } = "openid profile";

    /// <summary>How long a page session lasts before the user signs in through the provider again.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    public ClaimNames Claims { get; set; } = new();

    /// <summary>The provider's value for each role, e.g. <c>"SeniorLeader": "csc-head-of-service"</c>; a role not listed
    /// is matched by its own name.</summary>
    public Dictionary<UserRole, string> RoleValues { get; set; } = [];

    public sealed class ClaimNames
    {
        public string UserId { get; set; } = "sub";
        public string Name { get; set; } = "name";
        public string Role { get; set; } = "roles";
        public string Team { get; set; } = "teams";
        /// <summary>The worker id of a social worker; when absent, the user id is taken to be the worker id.</summary>
        public string Worker { get; set; } = "worker_id";
    }
}

/// <summary>Named authorization policies; every endpoint carries one (or is explicitly anonymous).</summary>
public static class Policies
{
    public const string SignedIn = "signed-in";
    /// <summary>Social workers (their own), practice managers (their teams), leaders (all).</summary>
    public const string Caseloads = "caseloads";
    /// <summary>Practice managers (their teams) and leaders.</summary>
    public const string TeamManagement = "team-management";
    /// <summary>Practice managers (their teams), leaders and administrators: staff absences and leavers.</summary>
    public const string StaffManagement = "staff-management";
    /// <summary>Anyone who may read a worker record: the worker, their managers, leaders, administrators.</summary>
    public const string WorkerRecords = "worker-records";
    public const string Leaders = "leaders";
    public const string LeadersOrAdministrators = "leaders-or-administrators";
    public const string Administrators = "administrators";

    public static readonly IReadOnlyDictionary<string, UserRole[]> Roles = new Dictionary<string, UserRole[]>
    {
        [SignedIn] = Enum.GetValues<UserRole>(),
        [Caseloads] = [UserRole.SocialWorker, UserRole.PracticeManager, UserRole.SeniorLeader],
        [TeamManagement] = [UserRole.PracticeManager, UserRole.SeniorLeader],
        [StaffManagement] = [UserRole.PracticeManager, UserRole.SeniorLeader, UserRole.Administrator],
        [WorkerRecords] = Enum.GetValues<UserRole>(),
        [Leaders] = [UserRole.SeniorLeader],
        [LeadersOrAdministrators] = [UserRole.SeniorLeader, UserRole.Administrator],
        [Administrators] = [UserRole.Administrator],
    };
}

public static class IdentitySetup
{
    /// <summary>The query string parameter the SignalR clients use for the token on WebSockets and SSE.</summary>
    public const string AccessTokenQuery = "access_token";

    /// <summary>How far the provider's clock and ours may disagree when checking a token's lifetime.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>The dashboard is navigated to, not fetched, so it reads the token from this cookie (set by the sign-in page).</summary>
    public const string DashboardCookie = "allocation_access_token";

    /// <summary>
    /// JWT bearer authentication and the role policies. With an <c>Identity:Authority</c> the provider's tokens are
    /// validated; without one, only in Development, the demo signs its own tokens (<see cref="DemoTokens"/>), and on
    /// PostgreSQL only when <see cref="DemoSignIn.AllowOnPostgreSQLSetting"/> says so. Outside Development a missing
    /// authority stops the start: there is no setting that turns the demo sign-in on there. With <c>Identity:ClientId</c>
    /// the pages sign in through the provider too (<see cref="PageSignIn"/>): a session cookie beside the bearer tokens.
    /// </summary>
    public static WebApplicationBuilder AddAllocationIdentity(this WebApplicationBuilder builder, StorageMode storage)
    {
        var section = builder.Configuration.GetSection(IdentityProviderOptions.SectionName);
        var identity = section.Get<IdentityProviderOptions>() ?? new IdentityProviderOptions();
        builder.Services.Configure<IdentityProviderOptions>(section);
        var demo = string.IsNullOrWhiteSpace(identity.Authority);
        if (demo && !builder.Environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                $"No identity provider: set Identity__Authority and Identity__Audience (environment '{builder.Environment.EnvironmentName}'). " +
                "The demo sign-in exists only in the Development environment.");
        }

        if (!demo && string.IsNullOrWhiteSpace(identity.Audience) && !builder.Environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                $"No audience: set Identity__Audience to this API's audience at the identity provider (environment '{builder.Environment.EnvironmentName}'). " +
                "Without it, a token the provider issued for another application would be accepted.");
        }

        if (demo && DemoSignIn.IsAllowed(builder.Configuration, storage))
        {
            builder.Services.AddSingleton<DemoTokens>();
        }

        builder.Services.AddSingleton<IHttpContextFactory, TokenStrippingHttpContextFactory>();

        // API clients send bearer tokens; with a client id the pages sign in through the provider and use a session cookie.
        var pages = !demo && !string.IsNullOrWhiteSpace(identity.ClientId);
        if (pages && string.IsNullOrWhiteSpace(identity.ClientSecret))
        {
            throw new InvalidOperationException("Identity__ClientId is set without Identity__ClientSecret: the pages sign in as a confidential client.");
        }

        var scheme = pages ? PageSignIn.Scheme : JwtBearerDefaults.AuthenticationScheme;
        var authentication = builder.Services.AddAuthentication(scheme).AddJwtBearer();
        if (pages)
        {
            authentication.AddPageSignIn(identity);
        }

        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IServiceProvider>((o, services) =>
            {
                o.MapInboundClaims = false;
                if (demo)
                {
                    // Without the demo's key (its sign-in refused on PostgreSQL) there is no key at all: no token validates.
                    if (services.GetService<DemoTokens>() is { } tokens)
                    {
                        o.TokenValidationParameters = tokens.ValidationParameters;
                    }
                }
                else
                {
                    o.Authority = identity.Authority;
                    o.Audience = identity.Audience;
                    o.RequireHttpsMetadata = identity.RequireHttpsMetadata;
                    // Always checked: without an audience (Development only) every token is refused, never every token accepted.
                    o.TokenValidationParameters.ValidateAudience = true;
                    o.TokenValidationParameters.ValidAlgorithms = identity.SigningAlgorithms is { Length: > 0 } algorithms ? algorithms : [SecurityAlgorithms.RsaSha256];
                    o.TokenValidationParameters.ClockSkew = MaxClockSkew;
                }

                o.Events = new JwtBearerEvents
                {
                    OnMessageReceived = ReadDashboardCookie,
                    OnTokenValidated = context =>
                    {
                        context.Principal = MapClaims(context.Principal, services.GetRequiredService<IOptions<IdentityProviderOptions>>().Value);
                        return Task.CompletedTask;
                    },
                };
            });

        builder.Services.AddAuthorization(o =>
        {
            foreach (var (name, roles) in Policies.Roles)
            {
                o.AddPolicy(name, p => p
                    .AddAuthenticationSchemes(scheme)
                    .RequireAuthenticatedUser()
                    .RequireClaim(AllocationClaims.Role, roles.Select(r => r.ToString())));
            }
        });
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ForbiddenResponses>();
        return builder;
    }

    /// <summary>The dashboard, navigated to, reads the token from its cookie. (The hub's token, which browsers send in the
    /// query string, is moved to the header before the request is seen: <see cref="TokenStrippingHttpContextFactory"/>.)</summary>
    private static Task ReadDashboardCookie(MessageReceivedContext context)
    {
        var path = context.HttpContext.Request.Path;
        if ((path.StartsWithSegments("/hangfire") || path.StartsWithSegments("/dashboard")) && context.Request.Cookies[DashboardCookie] is { Length: > 0 } cookie)
        {
            context.Token = cookie;
        }

        return Task.CompletedTask;
    }

    /// <summary>A principal made of the service's own claims alone, mapped from the provider's (a bearer token's or,
    /// for the pages, the id token's): a claim that happens to be named like one of ours (<c>allocation:role</c>) counts
    /// for nothing. Without a user id or a known role the user gets no claims, so every policy refuses it.</summary>
    internal static ClaimsPrincipal MapClaims(ClaimsPrincipal? principal, IdentityProviderOptions options)
    {
        // Nothing of the provider's principal is kept: until a user id is found, the user has no claims at all.
        var names = options.Claims;
        var userId = principal?.FindFirst(names.UserId)?.Value;
        if (principal is null || string.IsNullOrWhiteSpace(userId))
        {
            return new ClaimsPrincipal(new ClaimsIdentity(AllocationClaims.AuthenticationType));
        }

        var claims = new List<Claim> { new(AllocationClaims.UserId, userId) };
        if (principal.FindFirst(names.Name)?.Value is { Length: > 0 } name)
        {
            claims.Add(new Claim(AllocationClaims.Name, name));
        }

        var values = principal.FindAll(names.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var role in Enum.GetValues<UserRole>())
        {
            if (values.Contains(options.RoleValues.GetValueOrDefault(role, role.ToString())))
            {
                claims.Add(new Claim(AllocationClaims.Role, role.ToString()));
            }
        }

        claims.AddRange(principal.FindAll(names.Team).Select(c => new Claim(AllocationClaims.Team, c.Value)));
        claims.Add(new Claim(AllocationClaims.Worker, principal.FindFirst(names.Worker)?.Value ?? userId));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, AllocationClaims.AuthenticationType, AllocationClaims.Name, AllocationClaims.Role));
    }
}
