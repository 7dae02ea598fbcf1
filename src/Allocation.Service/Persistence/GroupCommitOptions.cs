namespace Allocation.Service.Persistence;

/// <summary>Configuration section <c>Persistence</c>: which grain storage the silo uses on PostgreSQL.</summary>
public sealed class GroupCommitOptions
{
    public const string SectionName = "Persistence";

    /// <summary>
    /// <c>GroupCommit</c> (default): grain writes from the whole silo are committed together in one transaction per batch.
    /// <c>AdoNet</c>: Orleans' AdoNet provider, one transaction per grain write.
    /// </summary>
    public string GrainStorage { get; set; } = GroupCommitGrainStorage.Kind;

    /// <summary>Most grain writes committed in one transaction.</summary>
    public int MaxBatch { get; set; } = 256;

    /// <summary>Batches in flight at once: while one waits for its commit to reach disk, the next is being sent.</summary>
    public int Writers { get; set; } = 2;

    public bool UsesGroupCommit => string.Equals(GrainStorage, GroupCommitGrainStorage.Kind, StringComparison.OrdinalIgnoreCase);
}
