using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Service.Api;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Allocation.Service.Hubs;

/// <summary>
/// Live boards. A client subscribes to a board and gets its snapshot with a version; changes then arrive as
/// deltas carrying the next version (<c>teamBoardDelta</c>, <c>workerBoardDelta</c>, <c>overviewDelta</c>).
/// The group is joined before the snapshot is read, so no change falls between the two. Every join is checked against
/// the same rules as the HTTP API (<see cref="Access"/>): a page hiding a board is not what keeps it private.
/// </summary>
[Authorize(Policy = Policies.SignedIn)]
public sealed partial class BoardsHub(IGrainFactory grains, ILogger<BoardsHub> logger) : Hub
{
    private AllocationUser User => Context.User is { } principal ? principal.Allocation() : throw new HubException("Not signed in.");

    public async Task<TeamBoard> SubscribeTeam(string teamId)
    {
        if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
        {
            throw new HubException($"No team with id '{teamId}'.");
        }

        if (!Access.CanReadTeam(User, teamId))
        {
            throw Forbidden("team-not-yours", $"Team '{teamId}' is not one of your teams.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, BoardGroups.Team(teamId));
        return await grains.GetGrain<ITeamGrain>(teamId).GetBoard();
    }

    public Task UnsubscribeTeam(string teamId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, BoardGroups.Team(teamId));

    public async Task<WorkerBoard> SubscribeWorker(string workerId)
    {
        if (await Known.FindWorker(grains, workerId) is not { } worker)
        {
            throw new HubException($"No worker with id '{workerId}'.");
        }

        if (!Access.CanReadWorker(User, worker))
        {
            throw Forbidden("worker-not-yours", $"Worker '{workerId}' is not you or in one of your teams.");
        }

        // A manager sees a worker through the worker's team: her group is that team's view of the worker, which stops
        // receiving the moment the worker moves to another team. The worker, leaders and administrators follow the worker.
        var group = Access.FollowsWorker(User, worker) ? BoardGroups.Worker(workerId) : BoardGroups.WorkerInTeam(workerId, worker.TeamId);
        Context.Items[BoardGroups.Worker(workerId)] = group;
        await Groups.AddToGroupAsync(Context.ConnectionId, group);
        return await grains.GetGrain<ITeamGrain>(worker.TeamId).GetWorkerBoard(workerId)
            ?? throw new HubException($"Worker '{workerId}' is not on team '{worker.TeamId}''s board yet.");
    }

    public Task UnsubscribeWorker(string workerId) =>
        Context.Items.Remove(BoardGroups.Worker(workerId), out var group) && group is string joined
            ? Groups.RemoveFromGroupAsync(Context.ConnectionId, joined)
            : Task.CompletedTask;

    public async Task<OverviewSnapshot> SubscribeOverview()
    {
        if (!User.IsLeader)
        {
            throw Forbidden("overview-needs-senior-leader", "Only senior leaders watch every team's pressure.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, BoardGroups.Overview);
        return await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).GetOverviewSnapshot();
    }

    public Task UnsubscribeOverview() => Groups.RemoveFromGroupAsync(Context.ConnectionId, BoardGroups.Overview);

    /// <summary>Refused joins are logged like the API's 403s (ids only); the client gets the reason.</summary>
    private HubException Forbidden(string rule, string detail)
    {
        LogForbidden(User.Id, User.RoleText, rule);
        return new HubException($"Not permitted ({rule}): {detail}");
    }

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Hub join refused: user {UserId} ({Roles}) by {Rule}")]
    private partial void LogForbidden(string userId, string roles, string rule);
}

public static class BoardGroups
{
    public const string Overview = "overview";

    public static string Team(string teamId) => "team:" + teamId;

    public static string Worker(string workerId) => "worker:" + workerId;

    /// <summary>A worker's board as seen through their team (its managers): it receives only while the worker is in it.</summary>
    public static string WorkerInTeam(string workerId, string teamId) => "worker:" + workerId + "@team:" + teamId;
}
