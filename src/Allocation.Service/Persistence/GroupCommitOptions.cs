namespace Allocation.Service.Persistence;

/// <summary>Configuration section <c>Persistence</c>: how the silo's grain storage on PostgreSQL groups its writes.</summary>
public sealed class GroupCommitOptions
{
    public const string SectionName = "Persistence";

    /// <summary>Most grain writes committed in one transaction.</summary>
    public int MaxBatch { get; set; } = 256;

    /// <summary>Batches in flight at once: while one waits for its commit to reach disk, the next is being sent.</summary>
    public int Writers { get; set; } = 2;
}
