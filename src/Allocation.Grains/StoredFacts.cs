namespace Allocation.Grains;

/// <summary>
/// A grain's memory must never say what its stored state does not. When a write fails, the change is dropped by
/// reading the stored state back; when that read fails too (the database is down), the write's outcome is unknown, so
/// the activation is deactivated and the next call activates the grain afresh from what is stored (until the database
/// answers, that activation fails and the caller is asked to retry).
/// </summary>
public static class StoredFacts
{
    /// <summary>Pauses between the attempts to read the state back after a failed write: a database restarting
    /// is often back within them, and the write's outcome is then known.</summary>
    private static readonly TimeSpan[] ReloadPauses = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(1)];

    /// <summary>Writes the state. If the write fails, reloads it (the change is gone, or was stored after all) and
    /// rethrows; when the state cannot be reloaded either, <paramref name="forget"/> runs first: the grain's
    /// <c>DeactivateOnIdle</c>, and whatever else its callers must learn of an outcome that is unknown. When it was
    /// reloaded, <paramref name="readBack"/> runs first instead: the memory now says what is stored, which may be the
    /// change after all, and those told of the grain's changes may need telling (its team's board).</summary>
    public static async Task WriteOrReloadAsync<T>(this IPersistentState<T> state, Action forget, Action readBack)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (await TryReloadAsync(state))
            {
                readBack();
            }
            else
            {
                forget();
            }

            throw;
        }
    }

    private static async Task<bool> TryReloadAsync<T>(IPersistentState<T> state)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await state.ReadStateAsync();
                return true;
            }
            catch when (attempt < ReloadPauses.Length)
            {
                await Task.Delay(ReloadPauses[attempt]);
            }
            catch
            {
                return false;
            }
        }
    }
}
