namespace Allocation.Service.Hosting;

/// <summary>Problem details for what the endpoints did not answer themselves: malformed requests and failures.</summary>
public static class ErrorResponses
{
    public static int StatusCodeFor(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        // A grain call that ran out of time: the service is overloaded or a silo is going away.
        TimeoutException => StatusCodes.Status503ServiceUnavailable,
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
        }

        // Other exceptions keep their details out of responses.
    }
}
