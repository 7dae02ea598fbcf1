using Microsoft.Extensions.Logging;

namespace Allocation.Grains.Teams;

/// <summary>
/// How a child or a worker keeps the team boards told once its facts are stored. A board is a projection: a summary
/// that does not reach its team must not fail a command whose facts are stored, and must not stay lost either.
/// <list type="bullet">
/// <item>A call that fails after a stored change is logged, and the command still succeeds. The team was then not
/// active (it could not activate while the database was down, or its silo died): its board is built afresh from
/// what is stored when it next activates, which includes this change, stored before the call.</item>
/// <item>An owner also tells its teams what it holds (<paramref name="sync"/>: summaries a team takes only when newer,
/// so telling twice changes nothing) whenever the summary of its last change may have been lost: on activation, on a
/// retried command, after a write whose answer was lost but whose state was read back.</item>
/// </list>
/// </summary>
public sealed partial class TeamResync(IGrainBase owner, Func<Task> sync, ILogger logger)
{
    /// <summary>Awaits a call to a team made after a stored change; a failure is logged, not thrown.</summary>
    public async Task Tell(Task call)
    {
        try
        {
            await call;
        }
        catch (Exception e)
        {
            LogNotTold(owner.GrainContext.GrainId.ToString(), e.GetType().Name, e.Message);
        }
    }

    /// <summary>Tells the teams what the owner holds now, without waiting.</summary>
    public void TellAgain() => _ = Tell(sync());

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "{GrainId}: its team's board was not told of a stored change ({Error}: {Detail}); it shows it when next built")]
    private partial void LogNotTold(string grainId, string error, string detail);
}
