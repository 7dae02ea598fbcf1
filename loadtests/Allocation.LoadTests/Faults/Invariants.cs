using System.Diagnostics;
using System.Text.Json;

namespace Allocation.LoadTests.Faults;

/// <summary>The outcome of one invariant check: how many commands were lost or applied twice, and every violation.
/// Board violations are kept apart: the boards are projections, and a projection that misses a change is a different
/// failure (and a different fix) from a fact lost or applied twice.
public sealed record InvariantReport(
    int Acknowledged, int Lost, int Duplicated, int RecordedOnlyByRetry, IReadOnlyList<string> Violations,
    IReadOnlyList<string> BoardViolations, double SettledAfterSeconds)
{
    /// <summary>Facts, capacity, caseloads and the audit trail.</summary>
    public bool FactsHold => Lost == 0 && Duplicated == 0 && Violations.Count == 0;

    public bool BoardsHold => BoardViolations.Count == 0;

    public override string ToString() =>
        $"{Acknowledged} acknowledged, {Lost} lost, {Duplicated} duplicated, {Violations.Count} invariant violations, " +
        $"{BoardViolations.Count} board violations" +
        (RecordedOnlyByRetry > 0 ? $", {RecordedOnlyByRetry} audited only by their retry" : "") +
        $", settled after {SettledAfterSeconds:0.0} s" +
        (Violations.Count + BoardViolations.Count == 0 ? "" : ":\n  " + string.Join("\n  ", Violations.Concat(BoardViolations).Take(20)));
}

/// <summary>
/// The one check every fault scenario ends with, read through the API as the head of service (who reads every child,
/// worker, board and the whole audit trail), once the load has stopped:
/// every acknowledged command is in effect exactly once (each child's team, worker, status, episodes, allocation periods
/// and transfers are what its acknowledged commands make them); no worker is over their ceiling (overrides aside);
/// each worker's caseload is exactly the open children that name them, so each child is on at most one caseload; each
/// team board equals a board rebuilt from the children and workers; each acknowledged command is in the audit trail once.
/// Workers and boards are allowed to settle (a worker lets go of a place a child never recorded when it next
/// activates; boards follow their children): those checks are repeated until they hold or <c>settle</c> runs out.
/// </summary>
public static class Invariants
{
    public static async Task<InvariantReport> CheckAsync(CommandClient reader, CommandLoad load, TimeSpan? settle = null)
    {
        var acknowledged = load.AcknowledgedCommands;
        var violations = new List<string>();
        var lost = 0;
        var duplicated = 0;

        // Facts first: each child as its acknowledged commands leave it.
        var children = new Dictionary<string, JsonElement>();
        foreach (var model in load.Children)
        {
            var answer = await reader.SendAsync(HttpMethod.Get, $"/api/children/{model.Id}", (byte[]?)null);
            if (!model.Referred)
            {
                if (answer.Status != 404)
                {
                    violations.Add($"{model.Id}: never acknowledged as referred, but the service knows it ({answer.Status})");
                }

                continue;
            }

            if (!answer.Ok)
            {
                lost++;
                violations.Add($"{model.Id}: acknowledged as referred, but the service answers {answer.Status}");
                continue;
            }

            var child = answer.Body;
            children[model.Id] = child;
            Compare("episodes", model.Episodes, child.GetProperty("episode").GetInt32());
            Compare("allocation periods", model.Periods, child.GetProperty("workerHistory").GetArrayLength());
            Compare("transfers", model.Transfers, child.GetProperty("transfers").GetArrayLength());
            var open = child.GetProperty("status").GetString() != "Closed";
            var team = child.GetProperty("teamId").GetString();
            var worker = child.GetProperty("workerId").ValueKind == JsonValueKind.String ? child.GetProperty("workerId").GetString() : null;
            if (open != model.Open || team != model.TeamId || worker != model.WorkerId)
            {
                violations.Add($"{model.Id}: expected {(model.Open ? "open" : "closed")} in {model.TeamId} with {model.WorkerId ?? "no worker"}, " +
                    $"found {(open ? "open" : "closed")} in {team} with {worker ?? "no worker"}");
            }

            void Compare(string what, int expected, int actual)
            {
                if (actual < expected)
                {
                    lost += expected - actual;
                    violations.Add($"{model.Id}: {expected} {what} acknowledged, {actual} in effect (lost)");
                }
                else if (actual > expected)
                {
                    duplicated += actual - expected;
                    violations.Add($"{model.Id}: {expected} {what} acknowledged, {actual} in effect (applied twice or unasked)");
                }
            }
        }

        // The audit trail: each acknowledged command once (a retry answered from the first result is marked a replay).
        var recordedOnlyByRetry = 0;
        foreach (var group in acknowledged.GroupBy(a => (a.Kind == "leave" ? "workerId" : "childId", a.Subject)))
        {
            var entries = await reader.GetAsync($"/api/audit?{group.Key.Item1}={group.Key.Subject}&limit=10000");
            foreach (var command in group)
            {
                var accepted = entries.EnumerateArray()
                    .Where(e => e.GetProperty("requestId").ValueKind == JsonValueKind.String && e.GetProperty("requestId").GetString() == command.RequestId
                        && e.GetProperty("outcome").GetString() == "Accepted")
                    .ToList();
                var replays = accepted.Count(IsReplay);
                var originals = accepted.Count - replays;
                if (originals > 1)
                {
                    violations.Add($"{command.Kind} {command.RequestId}: {originals} accepted entries in the audit trail");
                }
                else if (originals == 0 && replays == 0)
                {
                    violations.Add($"{command.Kind} {command.RequestId}: acknowledged but not in the audit trail");
                }
                else if (originals == 0)
                {
                    // Applied, then the process died before its entry was written: the retry's entry is its record.
                    recordedOnlyByRetry++;
                }
            }
        }

        // Projections and capacity: allowed to settle.
        var clock = Stopwatch.StartNew();
        var limit = settle ?? TimeSpan.FromSeconds(60);
        (List<string> Workers, List<string> Boards) unsettled;
        while (true)
        {
            unsettled = (await WorkersAsync(reader, load, children), await BoardsAsync(reader, load, children));
            if (unsettled.Workers.Count + unsettled.Boards.Count == 0 || clock.Elapsed > limit)
            {
                break;
            }

            await Task.Delay(500);
        }

        violations.AddRange(unsettled.Workers);
        return new InvariantReport(acknowledged.Count, lost, duplicated, recordedOnlyByRetry, violations, unsettled.Boards,
            Math.Round(clock.Elapsed.TotalSeconds, 1));
    }

    private static bool IsReplay(JsonElement entry) =>
        entry.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
        && detail.GetString()!.StartsWith("Replay", StringComparison.Ordinal);

    /// <summary>The open children that name each worker.</summary>
    private static ILookup<string, string> Naming(Dictionary<string, JsonElement> children) => children.Values
        .Where(c => c.GetProperty("status").GetString() != "Closed" && c.GetProperty("workerId").ValueKind == JsonValueKind.String)
        .ToLookup(c => c.GetProperty("workerId").GetString()!, c => c.GetProperty("id").GetString()!);

    private static async Task<List<string>> WorkersAsync(CommandClient reader, CommandLoad load, Dictionary<string, JsonElement> children)
    {
        var violations = new List<string>();
        var naming = Naming(children);
        var holders = new Dictionary<string, List<string>>();
        foreach (var model in load.Workers)
        {
            var worker = await reader.GetAsync($"/api/workers/{model.Id}");
            var caseload = worker.GetProperty("caseload").EnumerateArray().Select(e => e.GetProperty("childId").GetString()!).ToHashSet();
            var count = worker.GetProperty("caseloadCount").GetInt32();
            var ceiling = worker.GetProperty("ceiling").GetInt32();
            if (count > ceiling && worker.GetProperty("overridesInForce").GetInt32() == 0)
            {
                violations.Add($"{model.Id}: {count} children over a ceiling of {ceiling} with no override");
            }

            var named = naming[model.Id].ToHashSet();
            if (count != caseload.Count || !caseload.SetEquals(named))
            {
                violations.Add($"{model.Id}: holds {count} [{string.Join(' ', caseload.Order())}], named by [{string.Join(' ', named.Order())}]");
            }

            if (worker.GetProperty("hasLeft").GetBoolean() != model.Left)
            {
                violations.Add($"{model.Id}: left is {worker.GetProperty("hasLeft").GetBoolean()}, the acknowledged commands say {model.Left}");
            }

            foreach (var child in caseload)
            {
                (holders.TryGetValue(child, out var list) ? list : holders[child] = []).Add(model.Id);
            }
        }

        violations.AddRange(holders.Where(h => h.Value.Count > 1).Select(h => $"{h.Key}: on {h.Value.Count} caseloads ({string.Join(", ", h.Value)})"));
        return violations;
    }

    private static async Task<List<string>> BoardsAsync(CommandClient reader, CommandLoad load, Dictionary<string, JsonElement> children)
    {
        var violations = new List<string>();
        var naming = Naming(children);
        foreach (var team in load.Teams)
        {
            var board = await reader.GetAsync($"/api/teams/{team}/board");
            var open = children.Values.Where(c => c.GetProperty("status").GetString() != "Closed" && c.GetProperty("teamId").GetString() == team).ToList();
            var queue = open.Where(c => c.GetProperty("workerId").ValueKind != JsonValueKind.String).Select(c => c.GetProperty("id").GetString()!).ToHashSet();
            var onBoard = board.GetProperty("unallocated").EnumerateArray().Select(q => q.GetProperty("childId").GetString()!).ToHashSet();
            if (!onBoard.SetEquals(queue))
            {
                violations.Add($"{team} board: queue [{string.Join(' ', onBoard.Order())}], rebuilt [{string.Join(' ', queue.Order())}]");
            }

            var cards = board.GetProperty("workers").EnumerateArray().ToDictionary(w => w.GetProperty("workerId").GetString()!);
            var staying = load.Workers.Where(w => w.TeamId == team && !w.Left).ToList();
            if (!cards.Keys.ToHashSet().SetEquals(staying.Select(w => w.Id)))
            {
                violations.Add($"{team} board: cards for [{string.Join(' ', cards.Keys.Order())}], rebuilt [{string.Join(' ', staying.Select(w => w.Id).Order())}]");
            }

            foreach (var worker in staying.Where(w => cards.ContainsKey(w.Id)))
            {
                var card = cards[worker.Id];
                var expected = naming[worker.Id].ToHashSet();
                var shown = card.GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToHashSet();
                if (!shown.SetEquals(expected) || card.GetProperty("caseload").GetInt32() != expected.Count || card.GetProperty("ceiling").GetInt32() != worker.Ceiling)
                {
                    violations.Add($"{team} board: {worker.Id} shows {card.GetProperty("caseload").GetInt32()} [{string.Join(' ', shown.Order())}] " +
                        $"of {card.GetProperty("ceiling").GetInt32()}, rebuilt {expected.Count} [{string.Join(' ', expected.Order())}] of {worker.Ceiling}");
                }
            }
        }

        return violations;
    }
}
