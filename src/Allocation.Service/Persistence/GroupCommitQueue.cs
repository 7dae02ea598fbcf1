using System.Diagnostics;
using System.Threading.Channels;

namespace Allocation.Service.Persistence;

/// <summary>
/// Group commit: items from many callers are queued, and writer loops take whatever is waiting (up to a batch size)
/// and commit it together. Each caller's task completes once its batch has committed, with its item's result, or with
/// the batch's exception when the batch failed as a whole. Serves the grain storage and the audit trail.
/// </summary>
public sealed class GroupCommitQueue<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue;
    private readonly Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> _commit;
    private readonly Action<Exception, int> _batchFailed;
    private readonly int _maxBatch;
    private readonly Task[] _writers;
    private readonly KeyValuePair<string, object?> _queueTag;

    /// <param name="commit">Commits a batch; returns one result per item, in the items' order.</param>
    /// <param name="batchFailed">Told of a batch that failed as a whole, and how many items it held.</param>
    /// <param name="name">The queue's name in <see cref="StorageMetrics"/>.</param>
    public GroupCommitQueue(int maxBatch, int writers, Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> commit, Action<Exception, int> batchFailed,
        string name = "default")
    {
        _queueTag = new("queue", name);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(writers, 1);
        _maxBatch = maxBatch;
        _commit = commit;
        _batchFailed = batchFailed;
        _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = writers == 1 });
        _writers = Enumerable.Range(0, writers).Select(_ => Task.Run(WriteLoop)).ToArray();
    }

    /// <summary>Queues the item; false once the queue has stopped taking items.</summary>
    public bool TryEnqueue(TItem item, out Task<TResult> committed)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously), Stopwatch.GetTimestamp());
        committed = pending.Done.Task;
        return _queue.Writer.TryWrite(pending);
    }

    /// <summary>Stops taking items; those already queued are still committed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }

    private async Task WriteLoop()
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var started = Stopwatch.GetTimestamp();
                var results = await _commit(batch.Select(p => p.Item).ToList());
                var committed = Stopwatch.GetTimestamp();
                StorageMetrics.BatchSize.Record(batch.Count, _queueTag);
                StorageMetrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started, committed).TotalMilliseconds, _queueTag);
                for (var i = 0; i < batch.Count; i++)
                {
                    StorageMetrics.Wait.Record(Stopwatch.GetElapsedTime(batch[i].QueuedAt, committed).TotalMilliseconds, _queueTag);
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception e)
            {
                _batchFailed(e, batch.Count);
                batch.ForEach(p => p.Done.TrySetException(e));
            }
        }
    }

    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Done, long QueuedAt);
}
