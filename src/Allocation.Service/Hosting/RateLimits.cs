using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Allocation.Service.Security;
using Microsoft.AspNetCore.RateLimiting;

namespace Allocation.Service.Hosting;

/// <summary>
/// Per-user limits (section <c>RateLimits</c>): each signed-in user may send so many commands (any state-changing
/// request under <c>/api</c>) and so many imports in a window. Reads, the hub and the health checks are not limited.
/// Load tests that drive thousands of commands as one user raise the limits in their own settings.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    public Window Commands { get; set; } = new() { PermitLimit = 120, Period = TimeSpan.FromMinutes(1) };

    public Window Import { get; set; } = new() { PermitLimit = 5, Period = TimeSpan.FromHours(1) };

    public sealed class Window
    {
        [Range(1, int.MaxValue)]
        public int PermitLimit { get; set; }

        [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
        public TimeSpan Period { get; set; }
    }
}

public static class RateLimits
{
    public const string Rule = "rate-limit";

    public static IServiceCollection AddAllocationRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName)
            .ValidateDataAnnotations().Validate(o => o.Commands is not null && o.Import is not null).ValidateOnStart();
        services.AddOptions<RateLimiterOptions>().Configure<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>((o, limits) =>
        {
            var (commands, import) = (limits.Value.Commands, limits.Value.Import);
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, (string, string)>(http =>
            {
                var request = http.Request;
                // Runs after authorization, so a request that gets here unsigned was allowed anonymously.
                if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
                    || !request.Path.StartsWithSegments("/api") || AllocationUser.From(http.User) is not { } user)
                {
                    return RateLimitPartition.GetNoLimiter(("", ""));
                }

                var (kind, window) = request.Path.StartsWithSegments("/api/import") ? ("import", import) : ("commands", commands);
                return RateLimitPartition.GetFixedWindowLimiter((kind, user.Id), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = window.PermitLimit,
                    Window = window.Period,
                    QueueLimit = 0,
                });
            });
            o.OnRejected = RejectAsync;
        });
        services.AddRateLimiter(_ => { });
        return services;
    }

    /// <summary>429 as a problem document, with <c>Retry-After</c> in seconds when the limiter knows it.</summary>
    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        int? seconds = null;
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
            http.Response.Headers.RetryAfter = seconds.Value.ToString(CultureInfo.InvariantCulture);
        }

        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = seconds is { } s
                    ? $"You have sent more requests than your limit allows; try again in {s} seconds. Nothing was changed."
                    : "You have sent more requests than your limit allows; try again later. Nothing was changed.",
                Extensions = { ["rule"] = Rule, ["retryAfterSeconds"] = seconds },
            },
        });
    }
}
