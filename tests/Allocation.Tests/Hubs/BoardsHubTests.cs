using System.Net.Http.Json;
using System.Threading.Channels;
using Allocation.Grains.Boards;
using Allocation.Grains.Teams;
using Allocation.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Tests.Hubs;

[Collection(AppCollection.Name)]
public class BoardsHubTests(AppFactory factory) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly HttpClient _http = factory.CreateClient();
    private readonly string _p = Guid.NewGuid().ToString("N")[..8];
    private readonly List<BoardsClient> _connections = [];

    [Fact]
    public async Task An_allocation_reaches_the_team_the_worker_and_the_overview_with_the_next_versions()
    {
        var (team, worker) = await TeamWithWorker();
        await Refer("c1", team);
        var (hub, teamDeltas, workerDeltas, overviewDeltas) = await Connect();

        var board = await hub.InvokeAsync<TeamBoard>("SubscribeTeam", team);
        var workerBoard = await hub.InvokeAsync<WorkerBoard>("SubscribeWorker", worker);
        var overview = await hub.InvokeAsync<OverviewSnapshot>("SubscribeOverview");
        Assert.Equal($"{_p}-c1", Assert.Single(board.Unallocated).ChildId);

        await Allocate("c1", worker);

        var teamDelta = await Next(teamDeltas, d => d.TeamId == team);
        Assert.Equal(board.Version + 1, teamDelta.Version);
        Assert.Equal([$"{_p}-c1"], teamDelta.RemovedUnallocated);
        var card = Assert.Single(teamDelta.Workers);
        Assert.Equal(1, card.Caseload);
        Assert.Contains("allocated to", Assert.Single(teamDelta.Feed).Text);
        var workerDelta = await Next(workerDeltas, d => d.WorkerId == worker);
        Assert.Equal(workerBoard.Version + 1, workerDelta.Version);
        Assert.Equal($"{_p}-c1", Assert.Single(workerDelta.Board.Children).ChildId);
        var overviewDelta = await Next(overviewDeltas, d => d.Team.TeamId == team && d.Team.Allocated == 1);
        Assert.Equal(overview.Epoch, overviewDelta.Epoch);
        Assert.True(overviewDelta.Version > overview.Version);
    }

    [Fact]
    public async Task Deltas_applied_in_order_give_the_servers_board_and_a_client_that_misses_one_resyncs_to_it()
    {
        var (team, worker) = await TeamWithWorker();
        var (hub, teamDeltas, _, _) = await Connect();
        var replica = new TeamBoardReplica(await hub.InvokeAsync<TeamBoard>("SubscribeTeam", team));

        await Refer("c1", team);
        await Refer("c2", team);
        await Allocate("c1", worker);
        Assert.True(replica.Apply(await Next(teamDeltas, d => d.TeamId == team)));
        Assert.True(replica.Apply(await Next(teamDeltas, d => d.TeamId == team)));
        Assert.True(replica.Apply(await Next(teamDeltas, d => d.TeamId == team)));
        replica.AssertSameAs(await Board(team));

        // The next delta is lost (say, a dropped connection); the one after shows a gap.
        await Refer("c3", team);
        await Allocate("c2", worker);
        _ = await Next(teamDeltas, d => d.TeamId == team);
        var afterGap = await Next(teamDeltas, d => d.TeamId == team);
        Assert.False(replica.Apply(afterGap));

        replica = new TeamBoardReplica(await hub.InvokeAsync<TeamBoard>("SubscribeTeam", team));
        replica.AssertSameAs(await Board(team));
        Assert.Equal(2, replica.Workers[worker].Caseload);
        Assert.Equal([$"{_p}-c3"], replica.Queue.Keys);
    }

    [Fact]
    public async Task Subscribing_to_an_unknown_board_is_refused()
    {
        var (hub, _, _, _) = await Connect();
        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<TeamBoard>("SubscribeTeam", $"{_p}-nowhere"));
        Assert.Contains("No team", error.Message);
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<WorkerBoard>("SubscribeWorker", $"{_p}-nobody"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    private async Task<(HubConnection Hub, Channel<TeamBoardDelta> Team, Channel<WorkerBoardDelta> Worker, Channel<OverviewDelta> Overview)> Connect()
    {
        var client = await BoardsClient.Connect(factory);
        _connections.Add(client);
        return (client.Hub, client.TeamDeltas, client.WorkerDeltas, client.OverviewDeltas);
    }

    private static Task<T> Next<T>(Channel<T> channel, Func<T, bool> match) => BoardsClient.Next(channel, match, Wait);

    private async Task<(string Team, string Worker)> TeamWithWorker()
    {
        var team = $"{_p}-team";
        (await _http.PutAsJsonAsync($"/api/teams/{team}", new { name = "Assessment" })).EnsureSuccessStatusCode();
        var worker = $"{_p}-w1";
        (await _http.PutAsJsonAsync($"/api/workers/{worker}", new { name = "One", teamId = team, role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        return (team, worker);
    }

    private async Task Refer(string child, string team) =>
        (await _http.PostAsJsonAsync($"/api/children/{_p}-{child}/refer", new { requestId = Guid.NewGuid().ToString(), teamId = team })).EnsureSuccessStatusCode();

    private async Task Allocate(string child, string worker) =>
        (await _http.PostAsJsonAsync($"/api/children/{_p}-{child}/allocate", new { requestId = Guid.NewGuid().ToString(), workerId = worker })).EnsureSuccessStatusCode();

    private async Task<TeamBoard> Board(string team)
    {
        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        return await grains.GetGrain<ITeamGrain>(team).GetBoard();
    }

    /// <summary>What a board client keeps: cards and queue by id, moved forward only by the next version.</summary>
    private sealed class TeamBoardReplica(TeamBoard snapshot)
    {
        public long Version { get; private set; } = snapshot.Version;

        public Dictionary<string, WorkerCard> Workers { get; } = snapshot.Workers.ToDictionary(w => w.WorkerId);

        public SortedDictionary<string, QueueItem> Queue { get; } = new(snapshot.Unallocated.ToDictionary(q => q.ChildId), StringComparer.Ordinal);

        public bool Apply(TeamBoardDelta delta)
        {
            if (delta.Version != Version + 1)
            {
                return false;
            }

            foreach (var card in delta.Workers)
            {
                Workers[card.WorkerId] = card;
            }

            foreach (var id in delta.RemovedWorkers)
            {
                Workers.Remove(id);
            }

            foreach (var item in delta.Unallocated)
            {
                Queue[item.ChildId] = item;
            }

            foreach (var id in delta.RemovedUnallocated)
            {
                Queue.Remove(id);
            }

            Version = delta.Version;
            return true;
        }

        public void AssertSameAs(TeamBoard server)
        {
            Assert.Equal(server.Version, Version);
            Assert.Equal(server.Workers.Select(w => (w.WorkerId, w.Caseload, string.Join(",", w.Children))).OrderBy(w => w.WorkerId),
                Workers.Values.Select(w => (w.WorkerId, w.Caseload, string.Join(",", w.Children))).OrderBy(w => w.WorkerId));
            Assert.Equal(server.Unallocated.Select(q => (q.ChildId, q.Deadline)).OrderBy(q => q.ChildId),
                Queue.Values.Select(q => (q.ChildId, q.Deadline)).OrderBy(q => q.ChildId));
        }
    }
}
