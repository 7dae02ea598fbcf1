using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Security;

/// <summary>
/// Who may see and change what, beyond the role policies: a social worker their own caseload and the children on it, a
/// practice manager their own teams, leaders everything (and only they may override a ceiling), administrators the
/// staff records. The same rules serve the HTTP API and the hub.
/// </summary>
public static partial class Access
{
    public static bool CanReadTeam(AllocationUser user, string teamId) => user.IsLeader || user.Manages(teamId);

    public static bool CanChangeTeam(AllocationUser user, string teamId) => user.IsLeader || user.Manages(teamId);

    public static bool CanReadChild(AllocationUser user, ChildView child) =>
        CanReadTeam(user, child.TeamId) || (child.Status == ChildStatus.Allocated && user.IsWorker(child.WorkerId));

    public static bool CanReadWorker(AllocationUser user, WorkerView worker) =>
        user.IsLeader || user.Is(UserRole.Administrator) || user.Manages(worker.TeamId) || user.IsWorker(worker.Id);

    /// <summary>Whether the user may read the worker wherever the worker goes (the worker, leaders, administrators),
    /// rather than through the worker's team (its managers).</summary>
    public static bool FollowsWorker(AllocationUser user, WorkerView worker) =>
        user.IsLeader || user.Is(UserRole.Administrator) || user.IsWorker(worker.Id);

    public static bool CanManageWorker(AllocationUser user, WorkerView worker) =>
        user.IsLeader || user.Is(UserRole.Administrator) || user.Manages(worker.TeamId);

    public static bool CanOverrideCeiling(AllocationUser user) => user.IsLeader;

    /// <summary>The teams whose children the user may give commands on (<see cref="CanChangeTeam"/>), for the child
    /// grain to check against its own team as it applies the command.</summary>
    public static CommandAccess CommandAccess(AllocationUser user) =>
        user.IsLeader ? new(true, []) : new(false, user.Is(UserRole.PracticeManager) ? [.. user.Teams] : []);

    /// <summary>Null when the user may read the team's board and children; else a 403.</summary>
    public static ProblemHttpResult? ReadTeam(HttpContext http, string teamId) =>
        CanReadTeam(http.User.Allocation(), teamId) ? null : Forbidden(http, "team-not-yours", $"Team '{teamId}' is not one of your teams.");

    public static ProblemHttpResult? ChangeTeam(HttpContext http, string teamId) =>
        CanChangeTeam(http.User.Allocation(), teamId) ? null : Forbidden(http, "team-not-yours", $"Team '{teamId}' is not one of your teams.");

    public static ProblemHttpResult? ReadChild(HttpContext http, ChildView child) =>
        CanReadChild(http.User.Allocation(), child) ? null : Forbidden(http, "child-not-yours", $"Child '{child.Id}' is neither in one of your teams nor allocated to you.");

    /// <summary>Re-referring a known child: its own (last) team's managers, or a leader. The refusal does not say which team.</summary>
    public static ProblemHttpResult? ReReferChild(HttpContext http, string childId, string teamId) =>
        CanChangeTeam(http.User.Allocation(), teamId)
            ? null
            : Forbidden(http, "child-not-yours", $"Child '{childId}' is not in one of your teams: its own team may transfer it to yours, or a senior leader may re-refer it.");

    public static ProblemHttpResult? ReadWorker(HttpContext http, WorkerView worker) =>
        CanReadWorker(http.User.Allocation(), worker) ? null : Forbidden(http, "worker-not-yours", $"Worker '{worker.Id}' is not you or in one of your teams.");

    public static ProblemHttpResult? ManageWorker(HttpContext http, WorkerView worker) =>
        CanManageWorker(http.User.Allocation(), worker) ? null : Forbidden(http, "worker-not-yours", $"Worker '{worker.Id}' is not in one of your teams.");

    public static ProblemHttpResult? Override(HttpContext http, CeilingOverride? ceilingOverride) =>
        ceilingOverride is null || CanOverrideCeiling(http.User.Allocation())
            ? null
            : Forbidden(http, "override-needs-senior-leader", "Only a senior leader may allocate over a worker's ceiling; ask one to override with a reason.");

    /// <summary>A 403 naming the rule, logged with ids only.</summary>
    public static ProblemHttpResult Forbidden(HttpContext http, string rule, string detail)
    {
        var user = AllocationUser.From(http.User);
        LogForbidden(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Access)),
            user?.Id ?? "unknown", user?.RoleText ?? "", rule, http.Request.Method, http.Request.Path);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Not permitted",
            extensions: new Dictionary<string, object?> { ["rule"] = rule });
    }

    [LoggerMessage(EventId = 8002, Level = LogLevel.Warning, Message = "403: user {UserId} ({Roles}) refused by {Rule} on {Method} {Path}")]
    private static partial void LogForbidden(ILogger logger, string userId, string roles, string rule, string method, string path);
}
