using System.Collections.Concurrent;
using System.Globalization;
using Allocation.Grains.Children;
using Allocation.Grains.Directory;
using Allocation.Grains.Kpis;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Grains.Hosting;

/// <summary>
/// Grain storage in memory that, like the PostgreSQL storage, files each state under the team it belongs to, so a
/// team's board can be rebuilt from its members' facts. Each stored state is a private copy; versions are ETags.
/// </summary>
public sealed class MemoryFactStorage(DeepCopier copier) : IGrainStorage, ITeamFacts, IKnownIds, IClosedCases, ICommandReceipts, IHeldPlaces
{
    /// <summary>Receipts are pruned (those kept longer than <see cref="ICommandReceipts.KeptFor"/>, by the newest receipt's time) once this many
    /// have been stored since the last pruning.</summary>
    private const int PruneEvery = 10_000;

    private readonly ConcurrentDictionary<(GrainId Grain, string StateName), Entry> _states = new();

    // Closures by team, each once by child and episode; written under the lock of _states, with the state recording it.
    private readonly Dictionary<string, Dictionary<(string Child, int Episode), ClosedCase>> _closed = new(StringComparer.Ordinal);

    // Receipts by grain and request id; written under the lock of _states, with the state whose command they record.
    private readonly Dictionary<(GrainId Grain, string RequestId), CommandReceipt> _receipts = [];

    // The states holding a place with each worker (IHoldsPlace), as the PostgreSQL storage's index on the worker column;
    // written under the lock of _states.
    private readonly Dictionary<string, HashSet<(GrainId Grain, string StateName)>> _held = new(StringComparer.Ordinal);
    private int _receiptsSincePruned;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((grainId, stateName), out var entry))
        {
            grainState.State = copier.Copy((T)entry.State);
            grainState.ETag = entry.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var copy = copier.Copy(grainState.State)!;
        var team = (copy as ITeamMember)?.BoardTeam;
        var heldBy = (grainState.State as IHoldsPlace)?.HeldBy;
        var key = (grainId, stateName);
        lock (_states)
        {
            var version = Expect(key, grainState.ETag) + 1;
            if (heldBy is not null && grainState.State is IHoldsPlace { PlaceLimit: { } limit }
                && _held.TryGetValue(heldBy, out var places) && places.Count(p => p != key) >= limit)
            {
                throw new InconsistentStateException(
                    $"Write of '{stateName}' for grain {grainId} refused: worker {heldBy} already holds {limit} places.", version.ToString(CultureInfo.InvariantCulture), grainState.ETag ?? "(none)");
            }

            var before = _states.TryGetValue(key, out var stored) ? stored.HeldBy : null;
            _states[key] = new Entry(copy, version, team, heldBy);
            if (before != heldBy)
            {
                if (before is not null)
                {
                    Unhold(before, key);
                }

                if (heldBy is not null)
                {
                    Hold(heldBy, key);
                }
            }

            if (grainState.State is IRecordsClosure { Closing: { } closing } closure)
            {
                if (!_closed.TryGetValue(closure.TeamId, out var cases))
                {
                    _closed[closure.TeamId] = cases = [];
                }

                cases.TryAdd((grainId.Key.ToString()!, closure.Episode), closing);
            }

            if (grainState.State is IRecordsReceipts { Receipting: { } receipts })
            {
                foreach (var receipt in receipts)
                {
                    _receipts[(grainId, receipt.RequestId)] = receipt;
                }

                PruneReceipts(receipts.Count);
            }

            grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (grainId, stateName);
        lock (_states)
        {
            Expect(key, grainState.ETag);
            if (_states.TryRemove(key, out var removed) && removed.HeldBy is { } heldBy)
            {
                Unhold(heldBy, key);
            }
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    public Task<bool> IsStored(GrainId grainId, string stateName) => Task.FromResult(_states.ContainsKey((grainId, stateName)));

    public Task<TeamFacts> Read(string teamId, CancellationToken cancellationToken = default)
    {
        var children = new List<KeyValuePair<string, ChildState>>();
        var workers = new List<KeyValuePair<string, SocialWorkerState>>();
        foreach (var ((grain, _), entry) in _states)
        {
            if (entry.Team != teamId)
            {
                continue;
            }

            switch (entry.State)
            {
                case ChildState child: children.Add(new(grain.Key.ToString()!, copier.Copy(child))); break;
                case SocialWorkerState worker: workers.Add(new(grain.Key.ToString()!, copier.Copy(worker))); break;
            }
        }

        return Task.FromResult(new TeamFacts(children, workers));
    }

    public Task<IReadOnlyList<CaseEntry>> ReadHeld(string workerId, CancellationToken cancellationToken = default)
    {
        lock (_states)
        {
            IReadOnlyList<CaseEntry> places = _held.TryGetValue(workerId, out var keys)
                ? keys.Select(k => _states[k].State is ChildState child ? HeldPlaces.PlaceOf(k.Grain.Key.ToString()!, child) : null).OfType<CaseEntry>().ToList()
                : [];
            return Task.FromResult(places);
        }
    }

    private void Hold(string workerId, (GrainId, string) key)
    {
        if (!_held.TryGetValue(workerId, out var places))
        {
            _held[workerId] = places = [];
        }

        places.Add(key);
    }

    private void Unhold(string workerId, (GrainId, string) key)
    {
        if (_held.TryGetValue(workerId, out var places) && places.Remove(key) && places.Count == 0)
        {
            _held.Remove(workerId);
        }
    }

    public Task<IReadOnlyList<ClosedCase>> ReadClosed(string teamId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        lock (_states)
        {
            IReadOnlyList<ClosedCase> cases = _closed.TryGetValue(teamId, out var all)
                ? all.Values.Where(c => c.ClosedAt >= since).OrderBy(c => c.ClosedAt).ToList()
                : [];
            return Task.FromResult(cases);
        }
    }

    public Task<CommandReceipt?> FindReceipt(GrainId grainId, string requestId)
    {
        lock (_states)
        {
            return Task.FromResult(_receipts.GetValueOrDefault((grainId, requestId)));
        }
    }

    private void PruneReceipts(int added)
    {
        if ((_receiptsSincePruned += added) < PruneEvery)
        {
            return;
        }

        _receiptsSincePruned = 0;
        var cutoff = _receipts.Values.Max(r => r.AppliedAt) - ICommandReceipts.KeptFor;
        foreach (var key in _receipts.Where(r => r.Value.AppliedAt < cutoff).Select(r => r.Key).ToList())
        {
            _receipts.Remove(key);
        }
    }

    private long Expect((GrainId, string) key, string? etag)
    {
        var stored = _states.TryGetValue(key, out var entry) ? entry.Version.ToString(CultureInfo.InvariantCulture) : null;
        return stored == etag
            ? entry?.Version ?? 0
            : throw new InconsistentStateException($"Stale write of '{key.Item2}' for grain {key.Item1}.", stored ?? "(none)", etag ?? "(none)");
    }

    private sealed record Entry(object State, long Version, string? Team, string? HeldBy);
}
