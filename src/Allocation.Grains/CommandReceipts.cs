namespace Allocation.Grains;

/// <summary>
/// Receipts of applied commands, each stored once as a row of its own by the grain storage, in the same transaction
/// as the state write that applied its command (<see cref="IRecordsReceipts"/>), keyed by grain and request id. A grain
/// keeps only its last few minutes of receipts in memory (retries come within seconds or minutes) and asks the storage
/// for an older one only when a request id is not among them and a stored receipt could still be within the retry
/// window. So memory holds what the recent command rate leaves, not every command of the last day, and a state row no
/// longer carries (and rewrites) its receipts.
/// </summary>
public interface ICommandReceipts
{
    /// <summary>How long a receipt answers a retry; after it the request id is a new command.</summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromHours(24);

    /// <summary>How long a storage keeps a receipt: the retry window and an hour, for clocks that differ.</summary>
    public static readonly TimeSpan KeptFor = RetryWindow + TimeSpan.FromHours(1);

    /// <summary>The receipt stored for the grain's command with this request id, if any (expired or not).</summary>
    Task<CommandReceipt?> FindReceipt(GrainId grainId, string requestId);
}

/// <summary>A state whose next write also stores receipts (null or empty: none), in the same transaction, only if
/// that write stores the state. Not itself stored: set for a write and cleared after it (<see cref="Receipts.Write"/>).</summary>
public interface IRecordsReceipts
{
    IReadOnlyList<CommandReceipt>? Receipting { get; set; }

    /// <summary>Receipts an earlier version kept in the row itself: taken into memory when the grain activates and
    /// never written here again (<see cref="Grains.Receipts"/>).</summary>
    List<CommandReceipt>? Receipts { get; set; }
}
