using System.Security.Claims;

namespace Allocation.Service.Security;

/// <summary>What a user may be to the service. A user may hold more than one.</summary>
public enum UserRole
{
    /// <summary>A social worker, newly qualified worker, advanced practitioner or personal adviser: their own caseload.</summary>
    SocialWorker,
    /// <summary>Manages one or more teams: their boards, children and workers.</summary>
    PracticeManager,
    /// <summary>Head of service or senior leader: reads everything, may override a ceiling with a reason.</summary>
    SeniorLeader,
    /// <summary>Manages teams, workers, imports and the job dashboard.</summary>
    Administrator,
}

/// <summary>The claim types the service works with, whatever the identity provider calls them (see <see cref="IdentityOptions"/>).</summary>
public static class AllocationClaims
{
    public const string UserId = "allocation:user";
    public const string Name = "allocation:name";
    public const string Role = "allocation:role";
    public const string Team = "allocation:team";
    public const string Worker = "allocation:worker";
    public const string AuthenticationType = "allocation";
}

/// <summary>The signed-in user as the service sees them.</summary>
public sealed record AllocationUser(string Id, string? Name, IReadOnlySet<UserRole> Roles, IReadOnlySet<string> Teams, string? WorkerId)
{
    public bool Is(UserRole role) => Roles.Contains(role);

    public bool IsLeader => Is(UserRole.SeniorLeader);

    /// <summary>A practice manager of this team.</summary>
    public bool Manages(string teamId) => Is(UserRole.PracticeManager) && Teams.Contains(teamId);

    /// <summary>This user is the worker (a social worker reading their own caseload).</summary>
    public bool IsWorker(string? workerId) => workerId is not null && Is(UserRole.SocialWorker) && WorkerId == workerId;

    public string RoleText => string.Join('+', Roles.Order());

    public static AllocationUser? From(ClaimsPrincipal principal)
    {
        var id = principal.FindFirst(AllocationClaims.UserId)?.Value;
        if (id is null)
        {
            return null;
        }

        var roles = principal.FindAll(AllocationClaims.Role)
            .Select(c => Enum.TryParse<UserRole>(c.Value, out var role) ? role : (UserRole?)null)
            .OfType<UserRole>()
            .ToHashSet();
        var teams = principal.FindAll(AllocationClaims.Team).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return new AllocationUser(id, principal.FindFirst(AllocationClaims.Name)?.Value, roles, teams,
            principal.FindFirst(AllocationClaims.Worker)?.Value);
    }
}

public static class AllocationUserExtensions
{
    /// <summary>The signed-in user; endpoints behind a policy always have one.</summary>
    public static AllocationUser Allocation(this ClaimsPrincipal principal) =>
        AllocationUser.From(principal) ?? throw new InvalidOperationException("No signed-in user: the endpoint lacks an authorization policy.");
}
