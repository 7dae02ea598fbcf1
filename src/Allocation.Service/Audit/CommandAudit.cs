using System.Globalization;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Hosting;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Audit;

/// <summary>Marks an endpoint as a command: its every outcome is written to the audit trail.</summary>
public sealed record AuditedCommand(string Action);

/// <summary>What a handler knows about the command's subject before it runs (the child's team and worker), for the entry.</summary>
public sealed class AuditNote
{
    public string? TeamId { get; set; }

    public string? WorkerId { get; set; }

    /// <summary>Entries that follow from the command (each child moved off a leaver's caseload), written after its own.</summary>
    public List<AuditEntry> FollowUps { get; } = [];

    /// <summary>True when the command's accepted entry was stored with the command's own write (a child's command:
    /// <see cref="AuditDraft"/>), so the trail is not written again.</summary>
    public bool Recorded { get; set; }
}

public static class CommandAudit
{
    /// <summary>A retry answered from the first result: the command is on the record once, by its first entry (or,
    /// when the process died between applying it and writing that entry, by this one).</summary>
    public const string ReplayDetail = "Replay of a command already applied (same requestId): answered from the first result, not applied again.";

    /// <summary>Records every outcome of this endpoint as <paramref name="action"/> in the audit trail.</summary>
    public static RouteHandlerBuilder Audited(this RouteHandlerBuilder builder, string action) =>
        builder.WithMetadata(new AuditedCommand(action)).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            object? result;
            try
            {
                result = await next(context);
            }
            catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
            {
                try
                {
                    await RecordAsync(http, action, context.Arguments, null, e);
                }
                catch (Exception)
                {
                    // The entry could not be written either (the database is down, most likely, as it was for the
                    // command): the command's own failure decides the answer, not the audit trail's, which logs its own.
                }

                throw;
            }

            try
            {
                await RecordAsync(http, action, context.Arguments, result as IResult, null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The command stands but is not on the record: say so, and a retry with the same request id records it.
                return TypedResults.Problem(
                    "The command was decided but could not be written to the audit trail. Retry it with the same requestId.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Audit trail unavailable",
                    extensions: new Dictionary<string, object?> { ["rule"] = "audit-unavailable" });
            }

            return result;
        });

    /// <summary>The note for this request's entry; handlers fill in what they learn about the subject.</summary>
    public static AuditNote AuditNote(this HttpContext http)
    {
        if (http.Features.Get<AuditNote>() is not { } note)
        {
            note = new AuditNote();
            http.Features.Set(note);
        }

        return note;
    }

    /// <summary>An entry for a command refused before its handler ran (the role policy): the ids in the route only,
    /// since the user was entitled to learn nothing about them.</summary>
    public static async Task RecordForbiddenAsync(HttpContext http, string action, string detail)
    {
        await AppendAsync(http, Describe(http, action, [], forbidden: true) with
        {
            Outcome = AuditOutcome.Forbidden,
            Status = StatusCodes.Status403Forbidden,
            Rule = "role-not-permitted",
            Detail = detail,
        });
    }

    /// <summary>The entry of this command as drafted before it runs, for the child to complete and store with its write:
    /// what <see cref="RecordAsync"/> would write for it once accepted, the child's team and worker aside.</summary>
    public static AuditDraft Draft(HttpContext http, object command)
    {
        var action = http.GetEndpoint()?.Metadata.GetMetadata<AuditedCommand>()?.Action
            ?? throw new InvalidOperationException("Only an audited command has an audit entry to draft.");
        // Clipped where it is stored, as every entry is.
        var entry = Describe(http, action, [command], forbidden: false);
        return new AuditDraft(entry.UserId, entry.Roles, entry.Action, entry.RequestId, entry.TraceId, entry.ChildId, entry.TeamId,
            entry.WorkerId, entry.OtherTeamId, entry.OtherWorkerId, entry.Reason, entry.OverrideReason);
    }

    private static Task RecordAsync(HttpContext http, string action, IList<object?> arguments, IResult? result, Exception? failure)
    {
        if (failure is not null)
        {
            return AppendAsync(http, Describe(http, action, arguments, forbidden: false) with
            {
                Outcome = AuditOutcome.Failed, Status = ErrorResponses.StatusCodeFor(failure), Detail = failure.GetType().Name,
            });
        }

        while (result is INestedHttpResult nested)
        {
            result = nested.Result;
        }

        var status = (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
        var entry = Describe(http, action, arguments, forbidden: status == StatusCodes.Status403Forbidden) with
        {
            Status = status, Outcome = OutcomeOf(status),
        };
        if (result is ProblemHttpResult problem)
        {
            var extensions = problem.ProblemDetails.Extensions;
            entry = entry with
            {
                Rule = extensions.TryGetValue("rule", out var rule) ? rule?.ToString() : null,
                Figures = FiguresOf(extensions),
                Detail = problem.ProblemDetails.Detail,
            };
        }
        else if ((result as IValueHttpResult)?.Value is Api.ChildrenApi.ChildResponse response)
        {
            var child = response.Child;
            entry = entry with
            {
                TeamId = entry.TeamId ?? child.TeamId,
                WorkerId = AuditDraft.WorkerAfter(entry.WorkerId, entry.OtherWorkerId, child.WorkerId),
                Detail = response.Replayed ? ReplayDetail : null,
            };
        }
        else if ((result as IValueHttpResult)?.Value is WorkerResult { Replayed: true })
        {
            entry = entry with { Detail = ReplayDetail };
        }

        http.RequestServices.GetService<CommandMetrics>()?.Record(action, entry.Outcome, entry.Rule);
        if (entry.Outcome == AuditOutcome.Accepted && http.Features.Get<AuditNote>() is { Recorded: true })
        {
            // Stored with the command's write, in the same statement.
            return Task.CompletedTask;
        }

        return AppendWithFollowUpsAsync(http, entry);
    }

    private static async Task AppendWithFollowUpsAsync(HttpContext http, AuditEntry entry)
    {
        await AppendAsync(http, entry);
        foreach (var followUp in http.Features.Get<AuditNote>()?.FollowUps ?? [])
        {
            await AppendAsync(http, followUp);
        }
    }

    /// <summary>The entry's subject: the ids the user sent, and what the handler read about them. A forbidden command
    /// records only the ids the user sent: the child's team and worker, read to refuse it, are not the user's to see,
    /// and on the record they would reach whoever may read the team the user named (say, a transfer's destination).</summary>
    private static AuditEntry Describe(HttpContext http, string action, IList<object?> arguments, bool forbidden)
    {
        var user = AllocationUser.From(http.User);
        var route = http.Request.RouteValues;
        string? requestId = null, team = null, worker = null, otherTeam = null, otherWorker = null, reason = null, overrideReason = null;
        foreach (var argument in arguments)
        {
            switch (argument)
            {
                case ReferChild c: (requestId, team) = (c.RequestId, c.TeamId); break;
                case AllocateChild c: (requestId, worker, overrideReason) = (c.RequestId, c.WorkerId, c.Override?.Reason); break;
                case ReallocateChild c: (requestId, worker, reason, overrideReason) = (c.RequestId, c.WorkerId, c.Reason, c.Override?.Reason); break;
                case TransferChild c: (requestId, otherTeam, reason) = (c.RequestId, c.ToTeamId, c.Reason); break;
                case CloseChild c: (requestId, reason) = (c.RequestId, c.Reason); break;
                case UpdateCaseRecord c: requestId = c.RequestId; break;
                case UpsertWorker c: team = c.TeamId; break;
                case StartAbsence c: (requestId, reason, otherWorker) = (c.RequestId, c.Reason, c.MoveToWorkerId); break;
                case LeaveService c: (requestId, reason, otherWorker) = (c.RequestId, c.Reason, c.MoveToWorkerId); break;
            }
        }

        worker ??= route.GetValueOrDefault("workerId") as string;
        team ??= route.GetValueOrDefault("teamId") as string;
        if (!forbidden && http.Features.Get<AuditNote>() is { } note)
        {
            (team, worker, otherWorker) = AuditDraft.Subject(team, worker, otherWorker, new ChildExpectation(note.TeamId, note.WorkerId));
        }

        return new AuditEntry(0, DateTimeOffset.UtcNow, user?.Id ?? "anonymous", user?.RoleText ?? "", action, AuditOutcome.Accepted, 200,
            requestId, AuditIds.TraceId(http), route.GetValueOrDefault("childId") as string, team, worker, otherTeam, otherWorker,
            null, null, reason, overrideReason, null);
    }

    private static AuditOutcome OutcomeOf(int status) => status switch
    {
        < 300 => AuditOutcome.Accepted,
        StatusCodes.Status409Conflict => AuditOutcome.Refused,
        StatusCodes.Status403Forbidden => AuditOutcome.Forbidden,
        StatusCodes.Status404NotFound => AuditOutcome.NotFound,
        < 500 => AuditOutcome.Invalid,
        _ => AuditOutcome.Failed,
    };

    /// <summary>A refusal's numbers, e.g. <c>caseload=18; ceiling=18; wouldBe=19</c>.</summary>
    private static string? FiguresOf(IDictionary<string, object?> extensions)
    {
        var figures = extensions
            .Where(e => e.Key is not ("rule" or "errors" or "traceId" or "requestId"))
            .Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}={e.Value}"))
            .ToList();
        return figures.Count == 0 ? null : string.Join("; ", figures);
    }

    private static Task AppendAsync(HttpContext http, AuditEntry entry) =>
        http.RequestServices.GetRequiredService<IAuditTrail>().AppendAsync(entry.Clipped(), CancellationToken.None);
}
