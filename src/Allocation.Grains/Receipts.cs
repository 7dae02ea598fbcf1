namespace Allocation.Grains;

/// <summary>
/// A grain's receipts of the commands it applied, which answer retries by request id for
/// <see cref="ICommandReceipts.RetryWindow"/>: one component, shared by the child and the worker grains. Each receipt is
/// stored once, as a row of its own, by the write that applies its command: the grain writes its state through
/// <see cref="Write"/>, which sets the state's <see cref="IRecordsReceipts.Receipting"/> for that write. The grain's
/// last few minutes of receipts (<see cref="AllocationOptions.ReceiptsInMemory"/>, at most
/// <see cref="AllocationOptions.ReceiptsKept"/>) stay in memory; an older one is read from the storage only when a
/// stored receipt could still be within the window.
/// </summary>
public sealed class Receipts(GrainId owner, ICommandReceipts stored, TimeProvider time, AllocationOptions options)
{
    /// <summary>The receipts of this activation's latest commands, oldest first.</summary>
    private readonly List<CommandReceipt> _recent = [];

    /// <summary>The newest time a stored receipt may have that <see cref="_recent"/> does not hold (stored before this
    /// activation, gone from memory since, or written by a write whose answer was lost); null: none can.</summary>
    private DateTimeOffset? _storedUntil;

    /// <summary>Receipts an earlier version kept in the grain's own row, to be stored as rows with the next write.</summary>
    private List<CommandReceipt>? _unstored;

    /// <summary>On activation. A stored grain (<paramref name="recordExists"/>) may have receipts stored until now.
    /// Receipts an earlier version kept in the row itself (<see cref="IRecordsReceipts.Receipts"/>) leave the state,
    /// answer retries from memory while within the window, and are stored as rows of their own with the next write.</summary>
    public void Loaded(bool recordExists, IRecordsReceipts state, Func<CommandReceipt, CommandReceipt>? share = null)
    {
        var legacy = state.Receipts;
        state.Receipts = null;
        var now = time.GetUtcNow();
        _storedUntil = recordExists ? now : null;
        if (legacy is null)
        {
            return;
        }

        var cutoff = now - ICommandReceipts.RetryWindow;
        var kept = legacy.Where(r => r.AppliedAt >= cutoff).Select(share ?? (r => r)).ToList();
        if (kept.Count > 0)
        {
            _unstored = kept;
            _recent.AddRange(kept);
        }
    }

    /// <summary>The receipt of the command with this request id if it was applied within the retry window (from
    /// memory, else from the storage when a stored one could be there); null: the request id is new to this grain.</summary>
    public async ValueTask<CommandReceipt?> Find(string requestId)
    {
        var cutoff = time.GetUtcNow() - ICommandReceipts.RetryWindow;
        var receipt = _recent.Find(r => r.RequestId == requestId);
        if (receipt is null && _storedUntil >= cutoff)
        {
            receipt = await stored.FindReceipt(owner, requestId);
        }

        return receipt is null || receipt.AppliedAt < cutoff ? null : receipt;
    }

    /// <summary>Writes the grain's state through <paramref name="write"/> with the receipts it stores (<see cref="ToStore"/>):
    /// <paramref name="receipt"/>, the receipt of the command the write applies (null: none), and any not yet stored.</summary>
    public async Task Write(IRecordsReceipts state, CommandReceipt? receipt, Func<Task> write)
    {
        state.Receipts = null; // (read back after a failed write, an earlier version's list would come back)
        state.Receipting = ToStore(receipt);
        try
        {
            await write();
        }
        catch
        {
            if (receipt is not null)
            {
                MayBeStored(receipt);
            }

            throw;
        }
        finally
        {
            state.Receipting = null;
        }

        Stored(receipt);
    }

    /// <summary>What the grain's next write stores as receipt rows: the receipt of the command it applies (none for a
    /// write that applies no command), and any an earlier version kept in the row that are not stored as rows yet;
    /// null: nothing.</summary>
    private IReadOnlyList<CommandReceipt>? ToStore(CommandReceipt? receipt) => (_unstored, receipt) switch
    {
        ({ Count: > 0 } unstored, { } r) => [.. unstored, r],
        ({ Count: > 0 } unstored, null) => unstored,
        (_, { } r) => [r],
        _ => null,
    };

    /// <summary>The write stored what <see cref="ToStore"/> gave it. The command's receipt is kept in memory; those
    /// older than <see cref="AllocationOptions.ReceiptsInMemory"/> (or past <see cref="AllocationOptions.ReceiptsKept"/>)
    /// leave it, to be read from the storage if a retry asks for one.</summary>
    private void Stored(CommandReceipt? receipt)
    {
        _unstored = null;
        if (receipt is null)
        {
            return;
        }

        _recent.Add(receipt);
        var keepFrom = time.GetUtcNow() - options.ReceiptsInMemory;
        var over = _recent.Count - options.ReceiptsKept;
        var drop = 0;
        while (drop < _recent.Count - 1 && (drop < over || _recent[drop].AppliedAt < keepFrom))
        {
            drop++;
        }

        if (drop > 0)
        {
            Dropped(_recent[drop - 1].AppliedAt);
            _recent.RemoveRange(0, drop);
        }
    }

    /// <summary>The write failed: its answer may have been lost with the receipt stored, which memory does not hold.</summary>
    private void MayBeStored(CommandReceipt receipt) => Dropped(receipt.AppliedAt);

    private void Dropped(DateTimeOffset newest) => _storedUntil = _storedUntil is { } until && until > newest ? until : newest;
}
