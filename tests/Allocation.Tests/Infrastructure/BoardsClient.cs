using System.Text.Json.Serialization;
using System.Threading.Channels;
using Allocation.Grains.Boards;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;

namespace Allocation.Tests.Infrastructure;

/// <summary>A .NET SignalR client on the boards hub of an in-memory test server, collecting each kind of delta.</summary>
public sealed class BoardsClient : IAsyncDisposable
{
    private BoardsClient(HubConnection hub) => Hub = hub;

    public HubConnection Hub { get; }

    public Channel<TeamBoardDelta> TeamDeltas { get; } = Channel.CreateUnbounded<TeamBoardDelta>();

    public Channel<WorkerBoardDelta> WorkerDeltas { get; } = Channel.CreateUnbounded<WorkerBoardDelta>();

    public Channel<OverviewDelta> OverviewDeltas { get; } = Channel.CreateUnbounded<OverviewDelta>();

    public static Task<BoardsClient> Connect(WebApplicationFactory<Program> factory, Allocation.Service.Security.DemoUser? user = null) =>
        ConnectWithToken(factory, factory.Token(user ?? TestUsers.Superuser));

    public static async Task<BoardsClient> ConnectWithToken(WebApplicationFactory<Program> factory, string token)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(factory.Server.BaseAddress, "/hubs/boards"), o =>
            {
                o.HttpMessageHandlerFactory = _ => factory.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling;
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter()))
            .Build();
        var client = new BoardsClient(hub);
        hub.On<TeamBoardDelta>("teamBoardDelta", d => client.TeamDeltas.Writer.TryWrite(d));
        hub.On<WorkerBoardDelta>("workerBoardDelta", d => client.WorkerDeltas.Writer.TryWrite(d));
        hub.On<OverviewDelta>("overviewDelta", d => client.OverviewDeltas.Writer.TryWrite(d));
        await hub.StartAsync();
        return client;
    }

    /// <summary>The next item that matches, or <see cref="OperationCanceledException"/> after the timeout (default 10 s).</summary>
    public static async Task<T> Next<T>(Channel<T> channel, Func<T, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var item = await channel.Reader.ReadAsync(cancel.Token);
            if (match is null || match(item))
            {
                return item;
            }
        }
    }

    public ValueTask DisposeAsync() => Hub.DisposeAsync();
}
