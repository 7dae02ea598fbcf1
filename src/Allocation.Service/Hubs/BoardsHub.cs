using Allocation.Grains.Authority;
using Allocation.Grains.Boards;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Service.Api;
using Microsoft.AspNetCore.SignalR;

namespace Allocation.Service.Hubs;

/// <summary>
/// Live boards. A client subscribes to a board and gets its snapshot with a version; changes then arrive as
/// deltas carrying the next version (<c>teamBoardDelta</c>, <c>workerBoardDelta</c>, <c>overviewDelta</c>).
/// The group is joined before the snapshot is read, so no change falls between the two.
/// </summary>
public sealed class BoardsHub(IGrainFactory grains) : Hub
{
    public async Task<TeamBoard> SubscribeTeam(string teamId)
    {
        if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
        {
            throw new HubException($"No team with id '{teamId}'.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, BoardGroups.Team(teamId));
        return await grains.GetGrain<ITeamGrain>(teamId).GetBoard();
    }

    public Task UnsubscribeTeam(string teamId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, BoardGroups.Team(teamId));

    public async Task<WorkerBoard> SubscribeWorker(string workerId)
    {
        if (!Problems.IsValidId(workerId) || !await Known.Worker(grains, workerId)
            || await grains.GetGrain<ISocialWorkerGrain>(workerId).Get() is not { } worker)
        {
            throw new HubException($"No worker with id '{workerId}'.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, BoardGroups.Worker(workerId));
        return await grains.GetGrain<ITeamGrain>(worker.TeamId).GetWorkerBoard(workerId)
            ?? throw new HubException($"Worker '{workerId}' is not on team '{worker.TeamId}''s board yet.");
    }

    public Task UnsubscribeWorker(string workerId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, BoardGroups.Worker(workerId));

    public async Task<OverviewSnapshot> SubscribeOverview()
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, BoardGroups.Overview);
        return await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).GetOverviewSnapshot();
    }

    public Task UnsubscribeOverview() => Groups.RemoveFromGroupAsync(Context.ConnectionId, BoardGroups.Overview);
}

public static class BoardGroups
{
    public const string Overview = "overview";

    public static string Team(string teamId) => "team:" + teamId;

    public static string Worker(string workerId) => "worker:" + workerId;
}
