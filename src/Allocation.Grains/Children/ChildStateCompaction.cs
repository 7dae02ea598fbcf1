using System.Collections.Concurrent;

namespace Allocation.Grains.Children;

/// <summary>
/// A child's state kept small in memory, the one home of that job: an active child stays in memory for as long as it
/// is used, and there are many, so ids the deserializer gives each child its own copy of become shared instances.
/// Nothing here changes what the state says.
/// </summary>
public static class ChildStateCompaction
{
    /// <summary>
    /// Shrinks the state as loaded, without changing what it says: empty lists go; the team, worker and user ids and
    /// the command names become shared instances. The next write stores the same facts. (Receipts an earlier version
    /// kept in the row have already left it for the grain's <see cref="Receipts"/>, on activation.)
    /// </summary>
    public static void Compact(this ChildState state)
    {
        if (state.Transfers is { Count: 0 })
        {
            state.Transfers = null;
        }

        if (state.Breaches is { Count: 0 })
        {
            state.Breaches = null;
        }

        state.TeamId = Shared(state.TeamId);
        state.WorkerId = SharedOrNull(state.WorkerId);
        state.LastWorkerId = SharedOrNull(state.LastWorkerId);
        state.ClockReason = Known(state.ClockReason);
        string? endedFor = null;
        for (var i = 0; i < state.WorkerHistory.Count; i++)
        {
            var p = state.WorkerHistory[i];
            // A period usually begins for the reason the one before it ended: one copy serves both.
            var reason = p.Reason == endedFor ? endedFor : Known(p.Reason);
            endedFor = KnownOrNull(p.EndReason);
            state.WorkerHistory[i] = p with
            {
                WorkerId = Shared(p.WorkerId), TeamId = Shared(p.TeamId), Reason = reason, By = SharedOrNull(p.By), EndReason = endedFor,
            };
        }

        state.WorkerHistory.TrimExcess();
    }

    /// <summary>The ids a command has just put in the state, as the shared instances <see cref="Compact"/> gives a
    /// loaded state: the child's team and worker, its newest period and transfer. Each command adds at most one of
    /// each, at the end, so the whole state stays shared without walking it.</summary>
    public static void ShareNewest(this ChildState state)
    {
        state.TeamId = Shared(state.TeamId);
        state.WorkerId = SharedOrNull(state.WorkerId);
        state.LastWorkerId = SharedOrNull(state.LastWorkerId);
        if (state.WorkerHistory is [.., var p])
        {
            state.WorkerHistory[^1] = p with { WorkerId = Shared(p.WorkerId), TeamId = Shared(p.TeamId), By = SharedOrNull(p.By) };
        }

        if (state.Transfers is [.., var t])
        {
            state.Transfers[^1] = t with { FromTeamId = Shared(t.FromTeamId), ToTeamId = Shared(t.ToTeamId), By = SharedOrNull(t.By) };
        }
    }

    /// <summary>A receipt with its ids and command name as shared instances.</summary>
    public static CommandReceipt SharedIds(CommandReceipt r) =>
        r with { Command = Shared(r.Command), WorkerId = SharedOrNull(r.WorkerId), TeamId = SharedOrNull(r.TeamId), By = SharedOrNull(r.By) };

    // Ids and command names are few (the authority's teams, staff and commands), so one pool keeps an instance of each
    // for the life of the process (the runtime's intern pool did the same, behind a lock, at a few times the cost of a
    // lookup here); free text (reasons) is only matched against the runtime's interned literals, never pooled.
    private static readonly ConcurrentDictionary<string, string> Ids = new(StringComparer.Ordinal);

    private static string Shared(string s) => Ids.GetOrAdd(s, s);

    private static string? SharedOrNull(string? s) => s is null ? null : Shared(s);

    private static string Known(string s) => string.IsInterned(s) ?? s;

    private static string? KnownOrNull(string? s) => s is null ? null : string.IsInterned(s) ?? s;
}
