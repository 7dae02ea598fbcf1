namespace Allocation.Grains.Directory;

/// <summary>
/// One bucket of the directory of known ids of one kind (children, workers). The API asks the directory before it
/// touches an entity grain, so an unknown id is answered with 404 and never activates a grain.
/// </summary>
public interface IIdDirectoryGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<bool> Contains(string id);

    Task Add(string id);

    Task AddMany(IReadOnlyCollection<string> ids);

    [ReadOnly]
    Task<IReadOnlyList<string>> List();
}

public enum IdKind
{
    Child,
    Worker,
}

public static class IdDirectory
{
    /// <summary>Buckets per kind: small enough to list, large enough that one bucket's state stays a few KB at
    /// national scale (400,000 children / 1,024 buckets ≈ 400 ids).</summary>
    public const int Buckets = 1024;

    public static IIdDirectoryGrain For(IGrainFactory grains, IdKind kind, string id) =>
        grains.GetGrain<IIdDirectoryGrain>(Key(kind, Bucket(id)));

    public static string Key(IdKind kind, int bucket) => $"{kind.ToString().ToLowerInvariant()}/{bucket}";

    public static Task<bool> Contains(IGrainFactory grains, IdKind kind, string id) => For(grains, kind, id).Contains(id);

    public static Task Add(IGrainFactory grains, IdKind kind, string id) => For(grains, kind, id).Add(id);

    /// <summary>Adds many ids with one call (and at most one write) per bucket.</summary>
    public static Task AddAll(IGrainFactory grains, IdKind kind, IEnumerable<string> ids) =>
        Task.WhenAll(ids.GroupBy(Bucket).Select(bucket =>
            grains.GetGrain<IIdDirectoryGrain>(Key(kind, bucket.Key)).AddMany(bucket.ToList())));

    // A stable hash (string.GetHashCode is randomised per process, and buckets are persisted).
    public static int Bucket(string id)
    {
        uint hash = 2166136261;
        foreach (var ch in id)
        {
            hash = (hash ^ ch) * 16777619;
        }

        return (int)(hash % Buckets);
    }
}
