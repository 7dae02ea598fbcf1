using System.Net;
using System.Security.Cryptography;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.Security;

/// <summary>
/// Tokens from the authority's identity provider: only those issued for this API, signed with an accepted algorithm,
/// within their lifetime (give or take a minute), and only the claims the service maps from them count. The provider
/// is stood in for by a fixed signing configuration (no discovery document is fetched).
/// </summary>
public sealed class ProviderTokenTests : IAsyncLifetime
{
    private const string Issuer = "https://idp.example.invalid/realms/children";
    private const string Audience = "allocation-api";
    private readonly RsaSecurityKey _rsa = new(RSA.Create(2048)) { KeyId = "rsa" };
    private readonly ECDsaSecurityKey _ec = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "ec" };
    private ProviderFactory _factory = null!;

    public Task InitializeAsync()
    {
        var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
        configuration.SigningKeys.Add(_rsa);
        configuration.SigningKeys.Add(_ec);
        _factory = new ProviderFactory(configuration);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public void Production_with_an_identity_provider_but_no_audience_refuses_to_start()
    {
        using var factory = new ProductionFactory(new()
        {
            ["ConnectionStrings:Allocation"] = "Host=127.0.0.1;Port=1;Database=none",
            ["Identity:Authority"] = Issuer,
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();

        Assert.Contains("Identity__Audience", error);
    }

    [Fact]
    public async Task Only_a_token_for_this_api_signed_with_an_accepted_algorithm_and_in_date_is_accepted()
    {
        Assert.Equal(HttpStatusCode.OK, await Me(Token(Audience, _rsa, SecurityAlgorithms.RsaSha256)));
        Assert.Equal(HttpStatusCode.Unauthorized, await Me(Token("another-application", _rsa, SecurityAlgorithms.RsaSha256)));
        // A key the provider publishes, but an algorithm this service was not told to accept (RS256 unless configured).
        Assert.Equal(HttpStatusCode.Unauthorized, await Me(Token(Audience, _ec, SecurityAlgorithms.EcdsaSha256)));
        // Expired two minutes ago: past the one minute of clock skew allowed (the library's default would allow five).
        Assert.Equal(HttpStatusCode.Unauthorized, await Me(Token(Audience, _rsa, SecurityAlgorithms.RsaSha256, expiresIn: TimeSpan.FromMinutes(-2))));
    }

    [Fact]
    public async Task A_claim_in_the_token_named_like_the_services_own_counts_for_nothing()
    {
        var token = Token(Audience, _rsa, SecurityAlgorithms.RsaSha256, new Dictionary<string, object>
        {
            ["roles"] = new[] { "SocialWorker" },
            ["allocation:role"] = "SeniorLeader",
            ["allocation:team"] = "T-ANY",
        });
        using var http = _factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);

        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/api/overview")).StatusCode);
        var me = await http.GetStringAsync("/api/me");
        Assert.DoesNotContain("SeniorLeader", me);
        Assert.DoesNotContain("T-ANY", me);
    }

    private async Task<HttpStatusCode> Me(string token)
    {
        using var http = _factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return (await http.GetAsync("/api/me")).StatusCode;
    }

    private static string Token(string audience, SecurityKey key, string algorithm, Dictionary<string, object>? claims = null, TimeSpan? expiresIn = null)
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(5));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            IssuedAt = expires.AddMinutes(-10),
            NotBefore = expires.AddMinutes(-10),
            Expires = expires,
            Claims = claims ?? new Dictionary<string, object> { ["roles"] = new[] { "SeniorLeader" } },
            Subject = new System.Security.Claims.ClaimsIdentity([new("sub", "U-PROVIDER"), new("name", "Provider user")]),
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    private sealed class ProviderFactory(OpenIdConnectConfiguration configuration) : AppFactory(new()
    {
        ["Identity:Authority"] = Issuer,
        ["Identity:Audience"] = Audience,
    })
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            // Before the bearer handler's own post-configuration, which would otherwise fetch the discovery document.
            builder.ConfigureTestServices(services => services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme,
                o => o.Configuration = configuration));
        }
    }

    private sealed class ProductionFactory(Dictionary<string, string?> settings) : AppFactory(settings)
    {
        protected override string Environment => "Production";
    }
}
