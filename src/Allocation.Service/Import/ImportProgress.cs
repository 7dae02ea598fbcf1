namespace Allocation.Service.Import;

/// <summary>Where this host's running import has got to: the command polls it to draw its progress bar.</summary>
public sealed class ImportProgress
{
    private readonly Lock _gate = new();
    private string _phase = "idle";
    private int _done;
    private int _total;
    private DateTimeOffset? _startedAt;

    public sealed record Snapshot(string Phase, int Done, int Total, DateTimeOffset? StartedAt);

    public Snapshot Current
    {
        get
        {
            lock (_gate)
            {
                return new Snapshot(_phase, Volatile.Read(ref _done), _total, _startedAt);
            }
        }
    }

    /// <summary>A phase of <paramref name="total"/> items starts (validating, teams, workers, children).</summary>
    public void Begin(string phase, int total)
    {
        lock (_gate)
        {
            _startedAt ??= DateTimeOffset.UtcNow;
            (_phase, _total) = (phase, total);
            Volatile.Write(ref _done, 0);
        }
    }

    public void Advance() => Interlocked.Increment(ref _done);

    public void End()
    {
        lock (_gate)
        {
            (_phase, _done, _total, _startedAt) = ("idle", 0, 0, null);
        }
    }
}
