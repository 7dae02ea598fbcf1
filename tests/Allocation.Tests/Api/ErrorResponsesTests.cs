using Allocation.Service.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Tests.Api;

public class ErrorResponsesTests
{
    [Fact]
    public void A_grain_call_that_timed_out_is_503_asking_for_a_retry_with_the_same_request_id()
    {
        var exception = new TimeoutException("Response did not arrive on time");
        var context = new ProblemDetailsContext { HttpContext = new DefaultHttpContext(), ProblemDetails = new ProblemDetails(), Exception = exception };

        ErrorResponses.Describe(context);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, ErrorResponses.StatusCodeFor(exception));
        Assert.Contains("same requestId", context.ProblemDetails.Detail);
    }

    [Theory]
    [InlineData("silo")]
    [InlineData("stale-state")]
    public void A_silo_gone_or_a_grain_state_moved_on_is_503_asking_for_a_retry_with_the_same_request_id(string cause)
    {
        Exception exception = cause == "silo"
            ? new Orleans.Runtime.SiloUnavailableException("The target silo became unavailable for message")
            : new Orleans.Storage.InconsistentStateException("ETag mismatch", "3", "4");
        var context = new ProblemDetailsContext { HttpContext = new DefaultHttpContext(), ProblemDetails = new ProblemDetails(), Exception = new AggregateException(exception) };

        ErrorResponses.Describe(context);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, ErrorResponses.StatusCodeFor(new AggregateException(exception)));
        Assert.Contains("same requestId", context.ProblemDetails.Detail);
    }

    [Fact]
    public void Other_failures_are_500_without_their_details()
    {
        var exception = new InvalidOperationException("secret internals");
        var context = new ProblemDetailsContext { HttpContext = new DefaultHttpContext(), ProblemDetails = new ProblemDetails(), Exception = exception };

        ErrorResponses.Describe(context);

        Assert.Equal(StatusCodes.Status500InternalServerError, ErrorResponses.StatusCodeFor(exception));
        Assert.Null(context.ProblemDetails.Detail);
    }
}
