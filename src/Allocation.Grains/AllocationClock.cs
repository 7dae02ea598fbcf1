namespace Allocation.Grains;

/// <summary>
/// The domain's clock is a keyed <see cref="TimeProvider"/>: Orleans resolves the unkeyed one for its own timers and
/// membership, so tests can move the domain's time without moving the runtime's.
/// </summary>
public static class AllocationClock
{
    public const string Key = "allocation";
}
