using Allocation.Grains.Boards;
using Microsoft.AspNetCore.SignalR;

namespace Allocation.Service.Hubs;

/// <summary>This host's end of the push path: board changes from any silo reach this host's clients.</summary>
public sealed class HubBoardObserver(IHubContext<BoardsHub> hub, BoardMetrics metrics, TimeProvider time) : IBoardObserver
{
    public const string TeamBoardDelta = "teamBoardDelta";
    public const string WorkerBoardDelta = "workerBoardDelta";
    public const string OverviewDelta = "overviewDelta";
    public const string ReportSavedEvent = "reportSaved";

    public Task TeamBoardChanged(TeamBoardDelta delta)
    {
        metrics.TeamPushed(delta, time.GetUtcNow());
        return hub.Clients.Group(BoardGroups.Team(delta.TeamId)).SendAsync(TeamBoardDelta, delta);
    }

    public Task WorkerBoardChanged(WorkerBoardDelta delta)
    {
        metrics.Pushed("worker");
        return hub.Clients.Groups(BoardGroups.Worker(delta.WorkerId), BoardGroups.WorkerInTeam(delta.WorkerId, delta.Board.TeamId))
            .SendAsync(WorkerBoardDelta, delta);
    }

    public Task OverviewChanged(OverviewDelta delta)
    {
        metrics.Pushed("overview");
        return hub.Clients.Group(BoardGroups.Overview).SendAsync(OverviewDelta, delta);
    }

    /// <summary>Leaders watch the overview; the report is theirs too.</summary>
    public Task ReportSaved(ReportSaved notice) =>
        hub.Clients.Group(BoardGroups.Overview).SendAsync(ReportSavedEvent, notice);
}
