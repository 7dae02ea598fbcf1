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
