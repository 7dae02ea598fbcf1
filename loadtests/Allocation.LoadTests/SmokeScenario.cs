using System.Net.Http.Json;

namespace Allocation.LoadTests;

/// <summary>
/// Refers children to this run's own teams and allocates them round-robin to workers with room, open loop.
/// Once every worker is full a few more allocations are sent to full workers on purpose: each must be refused
/// with 409 caseload-ceiling. Then every worker is read back to check the ceilings and the totals.
/// </summary>
public static class SmokeScenario
{
    private sealed record TeamBody(string Name);
    private sealed record WorkerBody(string Name, string TeamId, string Role, decimal Fte, int? Ceiling);
    private sealed record ReferBody(string RequestId, string TeamId, string By);
    private sealed record AllocateBody(string RequestId, string WorkerId, string By, object? Override = null);
    private sealed record Worker(string Id, string TeamId, int Ceiling, int CaseloadCount, int OverridesInForce);
    private sealed record Child(string Id, string? WorkerId);

    /// <summary>The administrator sets up the teams and workers; the head of service refers, allocates and reads back.</summary>
    public static async Task<RunReport> Run(ServiceClients clients, RunOptions options, string runId)
    {
        var machine = Machine.Describe();
        var http = clients.HeadOfService;
        var workers = await Setup(clients.Admin, options, runId);
        var steps = Plan(options, runId, workers);
        Console.WriteLine($"run {runId}: {workers.Count} workers, {workers.Sum(w => w.Ceiling)} places, {options.Children} children, " +
            $"{steps.Count} requests at {options.Rate}/s (at most {options.Duration.TotalSeconds} s)");

        var (results, elapsed, maxSendLag) = await OpenLoop.Run(http, steps, options.Rate, options.Duration);
        var checks = await Verify(http, workers, steps, results);
        return Report.From(options, runId, machine, steps, results, elapsed, maxSendLag, checks);
    }

    private static async Task<List<Worker>> Setup(HttpClient http, RunOptions options, string runId)
    {
        using (var ready = await http.GetAsync("/health/ready"))
        {
            ready.EnsureSuccessStatusCode();
        }

        var workers = new List<Worker>();
        for (var t = 1; t <= options.Teams; t++)
        {
            var teamId = $"{runId}-t{t}";
            using (var team = await http.PutAsJsonAsync($"/api/teams/{teamId}", new TeamBody($"Load test team {t}"), Json.Options))
            {
                team.EnsureSuccessStatusCode();
            }

            for (var w = 1; w <= options.WorkersPerTeam; w++)
            {
                var body = new WorkerBody($"Load test worker {t}.{w}", teamId, "SocialWorker", 1.0m, null);
                using var response = await http.PutAsJsonAsync($"/api/workers/{teamId}-w{w}", body, Json.Options);
                // The ceiling is the service's to decide (18 for a full-time social worker by default).
                workers.Add((await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<Worker>(Json.Options))!);
            }
        }

        return workers;
    }

    /// <summary>
    /// Child k goes to team k mod teams and, while the team has room, to its next worker with room. Each allocation
    /// is scheduled about a quarter of a second after its referral, and waits for it if the referral is still in flight.
    /// Once a team is full, its next children (1% of the run's children in total) go to a full worker instead, to be refused.
    /// </summary>
    private static List<Step> Plan(RunOptions options, string runId, List<Worker> workers)
    {
        var teams = workers.GroupBy(w => w.TeamId).Select(g => g.ToList()).ToList();
        var planned = workers.ToDictionary(w => w.Id, _ => 0);
        var allocationsOf = workers.ToDictionary(w => w.Id, _ => new List<int>());
        var nextWorker = new int[teams.Count];
        var probesLeft = Math.Max(1, options.Children / 100);
        var lag = Math.Max(1, (int)(options.Rate / 4));

        var steps = new List<Step>();
        var waiting = new Queue<(int Due, int Refer, string ChildId, Worker Worker, Expect Expect)>();
        void Release(bool all)
        {
            while (waiting.Count > 0 && (all || waiting.Peek().Due <= steps.Count))
            {
                var (_, refer, childId, worker, expect) = waiting.Dequeue();
                // A refusal is only certain once the worker's own allocations are in.
                int[] after = expect == Expect.Success ? [refer] : [refer, .. allocationsOf[worker.Id]];
                var body = new AllocateBody($"{childId}-allocate", worker.Id, "load-test");
                allocationsOf[worker.Id].Add(steps.Count);
                steps.Add(new Step("allocate", $"/api/children/{childId}/allocate", body, expect, after));
            }
        }

        for (var k = 0; k < options.Children; k++)
        {
            var team = teams[k % teams.Count];
            var childId = $"{runId}-c{k}";
            var refer = steps.Count;
            steps.Add(new Step("refer", $"/api/children/{childId}/refer", new ReferBody($"{childId}-refer", team[0].TeamId, "load-test"), Expect.Success, []));

            var withRoom = Enumerable.Range(0, team.Count)
                .Select(i => team[(nextWorker[k % teams.Count] + i) % team.Count])
                .FirstOrDefault(w => planned[w.Id] < w.Ceiling);
            if (withRoom is not null)
            {
                planned[withRoom.Id]++;
                nextWorker[k % teams.Count] = (team.IndexOf(withRoom) + 1) % team.Count;
                waiting.Enqueue((refer + lag, refer, childId, withRoom, Expect.Success));
            }
            else if (probesLeft-- > 0)
            {
                waiting.Enqueue((refer + lag, refer, childId, team[k / teams.Count % team.Count], Expect.CeilingRefusal));
            }

            Release(all: false);
        }

        Release(all: true);
        return steps;
    }

    private static async Task<List<Check>> Verify(HttpClient http, List<Worker> workers, List<Step> steps, StepResult[] results)
    {
        // What each worker was given: the allocations answered 200, and those whose answer was lost (a timeout, a 5xx)
        // but which the child, read back, says did happen.
        var allocated = workers.ToDictionary(w => w.Id, _ => 0);
        var learnt = 0;
        foreach (var (step, result) in steps.Zip(results))
        {
            if (step.Body is not AllocateBody body)
            {
                continue;
            }

            var happened = result.Outcome == Outcome.Ok;
            if (result.Uncertain)
            {
                var child = await http.GetFromJsonAsync<Child>(step.Path[..step.Path.LastIndexOf('/')], Json.Options);
                happened = child?.WorkerId == body.WorkerId;
                learnt += happened ? 1 : 0;
            }

            allocated[body.WorkerId] += happened ? 1 : 0;
        }

        var overCeiling = new List<string>();
        var miscounted = new List<string>();
        var total = 0;
        foreach (var id in workers.Select(w => w.Id))
        {
            var worker = (await http.GetFromJsonAsync<Worker>($"/api/workers/{id}", Json.Options))!;
            total += worker.CaseloadCount;
            if (worker.CaseloadCount > worker.Ceiling && worker.OverridesInForce == 0)
            {
                overCeiling.Add($"{id} {worker.CaseloadCount}/{worker.Ceiling}");
            }

            if (worker.CaseloadCount != allocated[id])
            {
                miscounted.Add($"{id} holds {worker.CaseloadCount}, was given {allocated[id]}");
            }
        }

        var given = allocated.Values.Sum();
        return
        [
            new("every caseload within its ceiling (no overrides were used)", overCeiling.Count == 0,
                overCeiling.Count == 0 ? $"{workers.Count} workers" : string.Join("; ", overCeiling.Take(5))),
            new("sum of caseloads equals children allocated", total == given,
                $"{total} held, {given} allocated" + (learnt > 0 ? $" ({learnt} of them learnt by reading the child after a lost answer)" : "")),
            new("each worker holds exactly the children allocated to it", miscounted.Count == 0,
                miscounted.Count == 0 ? $"{workers.Count} workers" : string.Join("; ", miscounted.Take(5))),
        ];
    }
}
