using Allocation.Grains.Boards;
using Microsoft.AspNetCore.SignalR;

namespace Allocation.Service.Hubs;

/// <summary>
/// Registers this host's observer with the board hosts grain at start and then every refresh period, so a host
/// that dies is dropped and one that joins is reached. Started after the silo, stopped before it.
/// </summary>
public sealed partial class BoardObserverRegistration(
    IGrainFactory grains,
    IHubContext<BoardsHub> hub,
    IBoardPublisher publisher,
    BoardMetrics metrics,
    [FromKeyedServices(Allocation.Grains.AllocationClock.Key)] TimeProvider time,
    ILogger<BoardObserverRegistration> logger) : IHostedService, IAsyncDisposable
{
    private readonly string _hostId = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly CancellationTokenSource _stopping = new();
    private HubBoardObserver? _observer; // held here: Orleans keeps only a weak reference to it
    private IBoardObserver? _reference;
    private Task? _refreshing;

    private IBoardHostsGrain Hosts => grains.GetGrain<IBoardHostsGrain>(BoardHostsGrain.Key);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _observer = new HubBoardObserver(hub, metrics, time);
        _reference = grains.CreateObjectReference<IBoardObserver>(_observer);
        await Hosts.Register(_hostId, _reference);
        publisher.Invalidate();
        LogRegistered(_hostId);
        _refreshing = RefreshAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_refreshing is not null)
        {
            await _refreshing;
        }

        try
        {
            await Hosts.Unregister(_hostId).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The silo may already be going down; the entry then ages out.
            LogUnregisterFailed(ex, _hostId);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RefreshAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(BoardHostsGrain.RefreshPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    await Hosts.Register(_hostId, _reference!);
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested)
                {
                    LogRefreshFailed(ex, _hostId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Board observer {HostId} registered")]
    private partial void LogRegistered(string hostId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Board observer {HostId} could not refresh its registration")]
    private partial void LogRefreshFailed(Exception exception, string hostId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Board observer {HostId} could not unregister")]
    private partial void LogUnregisterFailed(Exception exception, string hostId);
}
