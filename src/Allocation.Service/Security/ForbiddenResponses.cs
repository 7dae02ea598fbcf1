using Allocation.Service.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Allocation.Service.Security;

/// <summary>
/// A role policy's refusal as problem details: 401 with no or a bad token, 403 naming the roles allowed and the user's
/// own. Each 403 is logged (ids only) and, for a command, written to the audit trail.
/// </summary>
public sealed partial class ForbiddenResponses(ILogger<ForbiddenResponses> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || context.GetEndpoint() is not { } endpoint || context.Request.Path.StartsWithSegments("/hangfire"))
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        if (authorizeResult.Challenged)
        {
            await context.ChallengeAsync();
            if (!context.Response.HasStarted)
            {
                await Results.Problem("Sign in first: send a bearer token from the authority's identity provider.",
                    statusCode: StatusCodes.Status401Unauthorized, title: "Not signed in",
                    extensions: new Dictionary<string, object?> { ["rule"] = "not-signed-in" }).ExecuteAsync(context);
            }

            return;
        }

        var user = AllocationUser.From(context.User);
        var name = endpoint.Metadata.GetMetadata<IAuthorizeData>()?.Policy ?? "";
        var allowed = Policies.Roles.TryGetValue(name, out var roles) ? roles.Select(r => r.ToString()).ToArray() : [];
        var detail = $"This needs one of the roles {string.Join(", ", allowed)}; you are {(user is null ? "without a role" : user.RoleText)}.";
        LogForbidden(user?.Id ?? "unknown", user?.RoleText ?? "", context.Request.Method, endpoint.DisplayName ?? context.Request.Path.Value ?? "");
        if (endpoint.Metadata.GetMetadata<AuditedCommand>() is { } command)
        {
            await CommandAudit.RecordForbiddenAsync(context, command.Action, detail);
        }

        await Results.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Not permitted",
            extensions: new Dictionary<string, object?> { ["rule"] = "role-not-permitted", ["allowedRoles"] = allowed, ["yourRoles"] = user?.Roles.Select(r => r.ToString()).ToArray() ?? [] })
            .ExecuteAsync(context);
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Warning, Message = "403: user {UserId} ({Roles}) may not {Method} {Endpoint}")]
    private partial void LogForbidden(string userId, string roles, string method, string endpoint);
}
