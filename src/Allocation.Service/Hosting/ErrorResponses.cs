using System.Net.Sockets;
using Npgsql;

namespace Allocation.Service.Hosting;

/// <summary>Problem details for what the endpoints did not answer themselves: malformed requests and failures.</summary>
public static class ErrorResponses
{
    public static int StatusCodeFor(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        // A grain call that ran out of time: the service is overloaded or a silo is going away.
        TimeoutException => StatusCodes.Status503ServiceUnavailable,
        // The database is down, restarting or unreachable: the same request will succeed once it is back.
        _ when IsDatabaseUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static void Describe(ProblemDetailsContext context)
    {
        switch (context.Exception)
        {
            case BadHttpRequestException bad:
                context.ProblemDetails.Title = "Malformed request";
                context.ProblemDetails.Detail = bad.InnerException is { } inner ? $"{bad.Message} {inner.Message}" : bad.Message;
                break;
            case TimeoutException:
                // The command may or may not have been applied; a retry with the same request id is applied at most once.
                context.ProblemDetails.Title = "Timed out";
                context.ProblemDetails.Detail = "The service did not finish in time; the command may have been applied. Retry it with the same requestId.";
                break;
            case { } e when IsDatabaseUnavailable(e):
                context.ProblemDetails.Title = "Storage unavailable";
                context.ProblemDetails.Detail = "The database did not answer; the command may have been applied. Retry it with the same requestId.";
                context.ProblemDetails.Extensions["rule"] = "storage-unavailable";
                break;
        }

        // Other exceptions keep their details out of responses.
    }

    /// <summary>The database (or the connection to it) failed, not the request: a connection refused or cut, a server
    /// shutting down or starting up. Found anywhere in the exception's causes, since grain storage and activation wrap them.</summary>
    public static bool IsDatabaseUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // Class 08 connection exceptions, 57P operator intervention (shutdown, crash, starting up), 53 resources.
                case PostgresException pg when pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                    || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("53", StringComparison.Ordinal):
                    return true;
                case PostgresException:
                    return false;
                case NpgsqlException or SocketException:
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsDatabaseUnavailable):
                    return true;
            }
        }

        return false;
    }
}
