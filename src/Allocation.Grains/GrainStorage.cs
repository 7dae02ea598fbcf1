namespace Allocation.Grains;

public static class GrainStorage
{
    /// <summary>The one grain storage provider every grain uses: memory in the embedded default, PostgreSQL otherwise.</summary>
    public const string Name = "allocation";
}
