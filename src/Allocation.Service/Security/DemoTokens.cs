using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Service.Security;

/// <summary>
/// Development only: signs tokens for the demo sign-in with a key made at start-up and never stored, so a token is
/// worthless to any other process and after a restart. Registered only when there is no identity provider, which
/// outside Development stops the start (<see cref="IdentitySetup.AddAllocationIdentity"/>).
/// </summary>
public sealed class DemoTokens(IOptions<IdentityProviderOptions> options)
{
    public const string Issuer = "allocation-demo";
    public const string Audience = "allocation-demo";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private readonly SymmetricSecurityKey _key = new(RandomNumberGenerator.GetBytes(32));

    public TokenValidationParameters ValidationParameters => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = _key,
        ClockSkew = TimeSpan.FromSeconds(30),
    };

    public (string Token, DateTimeOffset ExpiresAt) Issue(DemoUser user, TimeSpan? lifetime = null)
    {
        var expiresIn = lifetime ?? Lifetime;
        var names = options.Value.Claims;
        // Real time, as the bearer handler checks it, whatever the domain clock says.
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            [names.UserId] = user.Id,
            [names.Name] = user.Name,
            [names.Role] = user.Roles.Select(r => options.Value.RoleValues.GetValueOrDefault(r, r.ToString())).ToArray(),
            [names.Team] = user.Teams.ToArray(),
        };
        if (user.WorkerId is { } worker)
        {
            claims[names.Worker] = worker;
        }

        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + expiresIn).UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
        return (token, now + expiresIn);
    }
}

/// <summary>A user the demo sign-in offers.</summary>
public sealed record DemoUser(string Id, string Name, IReadOnlyList<UserRole> Roles, IReadOnlyList<string> Teams, string? WorkerId, string Description);
