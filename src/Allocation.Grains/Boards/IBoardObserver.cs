namespace Allocation.Grains.Boards;

/// <summary>
/// Implemented by each web host (wrapping its SignalR hub context) and registered with
/// <see cref="IBoardHostsGrain"/>, so grains push board changes to every host's clients without touching SignalR.
/// </summary>
public interface IBoardObserver : IGrainObserver
{
    [OneWay]
    Task TeamBoardChanged(TeamBoardDelta delta);

    [OneWay]
    Task WorkerBoardChanged(WorkerBoardDelta delta);

    [OneWay]
    Task OverviewChanged(OverviewDelta delta);

    [OneWay]
    Task ReportSaved(ReportSaved notice);
}

/// <summary>The live web hosts. Hosts re-register periodically; one not heard from for a while is dropped.</summary>
public interface IBoardHostsGrain : IGrainWithStringKey
{
    Task Register(string hostId, IBoardObserver observer);

    Task Unregister(string hostId);

    Task<IReadOnlyList<IBoardObserver>> GetObservers();
}
