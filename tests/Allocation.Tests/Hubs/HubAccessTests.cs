using System.Net.Http.Json;
using Allocation.Grains.Boards;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Allocation.Tests.Hubs;

/// <summary>A live board is seen no longer than the right to see it: not past the token's expiry, not through a team
/// the worker has left.</summary>
[Collection(AppCollection.Name)]
public sealed class HubAccessTests(AppFactory factory)
{
    private readonly string _p = "ha" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task A_hub_connection_is_closed_when_its_token_expires()
    {
        var token = factory.Services.GetRequiredService<Allocation.Service.Security.DemoTokens>()
            .Issue(TestUsers.Leader, TimeSpan.FromSeconds(15)).Token;
        await using var client = await BoardsClient.ConnectWithToken(factory, token);
        var closed = new TaskCompletionSource();
        client.Hub.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        Assert.Equal(HubConnectionState.Connected, client.Hub.State);

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HubConnectionState.Disconnected, client.Hub.State);
    }

    [Fact]
    public async Task A_managers_view_of_a_worker_stops_when_the_worker_moves_to_another_team()
    {
        using var admin = factory.CreateClient();
        (await admin.PutAsJsonAsync($"/api/teams/{_p}-a", new { name = "A" })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync($"/api/teams/{_p}-b", new { name = "B" })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync($"/api/workers/{_p}-w", new { name = "W", teamId = _p + "-a", role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        await using var managerA = await BoardsClient.Connect(factory, TestUsers.Manager(_p + "-pma", _p + "-a"));
        await using var leader = await BoardsClient.Connect(factory, TestUsers.Leader);
        await managerA.Hub.InvokeAsync<WorkerBoard>("SubscribeWorker", _p + "-w");
        await leader.Hub.InvokeAsync<WorkerBoard>("SubscribeWorker", _p + "-w");

        (await admin.PutAsJsonAsync($"/api/workers/{_p}-w", new { name = "W", teamId = _p + "-b", role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync($"/api/children/{_p}-c/refer", new { requestId = "r1", teamId = _p + "-b" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync($"/api/children/{_p}-c/allocate", new { requestId = "r2", workerId = _p + "-w" })).EnsureSuccessStatusCode();

        // The leader follows the worker into team B and sees the allocation there; by then the manager of A would have too.
        await BoardsClient.Next(leader.WorkerDeltas, d => d.WorkerId == _p + "-w" && d.Board.Caseload == 1);
        await Task.Delay(500);
        Assert.DoesNotContain(Drain(managerA.WorkerDeltas), d => d.Board.TeamId == _p + "-b");
    }

    private static List<WorkerBoardDelta> Drain(System.Threading.Channels.Channel<WorkerBoardDelta> channel)
    {
        var items = new List<WorkerBoardDelta>();
        while (channel.Reader.TryRead(out var item))
        {
            items.Add(item);
        }

        return items;
    }
}
