using System.Globalization;
using System.Text;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Audit;
using Allocation.Service.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

/// <summary>The audit trail, read per child, worker or team, as JSON or CSV; and a child's allocation history.</summary>
public static class AuditApi
{
    private const int MaxLimit = 10_000;

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Audit").RequireAuthorization(Policies.Caseloads);

        api.MapGet("/audit", async Task<Results<Ok<IReadOnlyList<AuditEntry>>, ProblemHttpResult>> (
            string? childId, string? workerId, string? teamId, string? from, string? to, long? after, int? limit,
            HttpContext http, IGrainFactory grains, IAuditTrail audit, CancellationToken ct) =>
        {
            var query = await QueryAsync(http, grains, childId, workerId, teamId, from, to, after, limit);
            return query.Problem ?? (Results<Ok<IReadOnlyList<AuditEntry>>, ProblemHttpResult>)TypedResults.Ok(await audit.QueryAsync(query.Query!, ct));
        }).WithSummary("Audit entries for a child, a worker or a team (one of them; leaders may ask for all), oldest first: who, role, what, when, request id, outcome, the rule and figures of a refusal, reasons and override reasons. Page with 'after' (the last sequence seen).");

        api.MapGet("/audit/csv", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (
            string? childId, string? workerId, string? teamId, string? from, string? to, long? after, int? limit,
            HttpContext http, IGrainFactory grains, IAuditTrail audit, CancellationToken ct) =>
        {
            var query = await QueryAsync(http, grains, childId, workerId, teamId, from, to, after, limit);
            if (query.Problem is { } problem)
            {
                return problem;
            }

            var name = childId ?? workerId ?? teamId ?? "authority";
            return TypedResults.File(Csv(await audit.QueryAsync(query.Query!, ct)), "text/csv; charset=utf-8", $"audit-{name}.csv");
        }).WithSummary("The same entries as CSV.");

        // "Chronology" means a practitioner's selection of significant events in a child's life: ours is the allocation
        // history. The old path stays as an alias for clients written against it.
        foreach (var (path, summary) in new[]
        {
            ("/children/{childId}/allocation-history", "The child's allocation history: every command about the child, accepted or refused, with who and why, and the 24-hour breaches the service recorded."),
            ("/children/{childId}/chronology", "The same allocation history at its former path (kept for existing clients)."),
        })
        {
            api.MapGet(path, async Task<Results<Ok<IReadOnlyList<AuditEntry>>, ProblemHttpResult>> (
                string childId, HttpContext http, IGrainFactory grains, IAuditTrail audit, CancellationToken ct) =>
            {
                if (await Known.FindChild(grains, childId) is not { } child)
                {
                    return Problems.NotFound("child", childId);
                }

                if (Access.ReadChild(http, child) is { } forbidden)
                {
                    return forbidden;
                }

                return TypedResults.Ok(await AllocationHistoryAsync(audit, child, ct));
            }).WithTags("Children").WithSummary(summary);
        }

        return app;
    }

    /// <summary>The audit entries about the child, with the breaches its clock raised (the service's own events, not commands).</summary>
    public static async Task<IReadOnlyList<AuditEntry>> AllocationHistoryAsync(IAuditTrail audit, ChildView child, CancellationToken ct)
    {
        var entries = await audit.QueryAsync(new AuditQuery(ChildId: child.Id, Limit: MaxLimit), ct);
        var breaches = child.Breaches.Select(b => new AuditEntry(0, b.RecordedAt, "service", "", "clock.breached", AuditOutcome.Recorded, 200,
            null, null, child.Id, b.TeamId, null, null, null, "allocation-deadline",
            string.Create(CultureInfo.InvariantCulture, $"clockStartedAt={b.ClockStartedAt:O}; deadline={b.Deadline:O}; episode={b.Episode}"),
            null, null, "No worker was allocated within the allocation window."));
        return entries.Concat(breaches).OrderBy(e => e.At).ToList();
    }

    private static async Task<(AuditQuery? Query, ProblemHttpResult? Problem)> QueryAsync(
        HttpContext http, IGrainFactory grains, string? childId, string? workerId, string? teamId, string? from, string? to, long? after, int? limit)
    {
        var user = http.User.Allocation();
        if (new[] { childId, workerId, teamId }.Count(v => v is not null) > 1)
        {
            return (null, Problems.Invalid("childId", "Ask for one of childId, workerId or teamId."));
        }

        if (limit is < 1 or > MaxLimit || after is < 0)
        {
            return (null, Problems.Invalid("limit", $"'limit' must be 1 to {MaxLimit}; 'after' not negative."));
        }

        DateTimeOffset? Time(string? value) =>
            value is not null && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
        if ((from is not null && Time(from) is null) || (to is not null && Time(to) is null))
        {
            return (null, Problems.Invalid("from", "'from' and 'to' must be ISO 8601 times, e.g. 2026-11-23T00:00:00Z."));
        }

        ProblemHttpResult? forbidden;
        if (childId is not null)
        {
            if (await Known.FindChild(grains, childId) is not { } child)
            {
                return (null, Problems.NotFound("child", childId));
            }

            forbidden = Access.ReadChild(http, child);
        }
        else if (workerId is not null)
        {
            if (await Known.FindWorker(grains, workerId) is not { } worker)
            {
                return (null, Problems.NotFound("worker", workerId));
            }

            forbidden = Access.ReadWorker(http, worker);
        }
        else if (teamId is not null)
        {
            if (!Problems.IsValidId(teamId) || !await Known.Team(grains, teamId))
            {
                return (null, Problems.NotFound("team", teamId));
            }

            forbidden = Access.ReadTeam(http, teamId);
        }
        else
        {
            forbidden = user.IsLeader ? null : Access.Forbidden(http, "audit-needs-subject", "Ask for a child, worker or team of yours; only leaders read the whole trail.");
        }

        return forbidden is not null
            ? (null, forbidden)
            : (new AuditQuery(childId, workerId, teamId, Time(from), Time(to), after ?? 0, limit ?? 1000), null);
    }

    private static readonly string[] CsvHeader =
    [
        "sequence", "at", "user_id", "roles", "action", "outcome", "status", "request_id", "trace_id", "child_id", "team_id", "worker_id",
        "other_team_id", "other_worker_id", "rule", "figures", "reason", "override_reason", "detail",
    ];

    private static byte[] Csv(IReadOnlyList<AuditEntry> entries)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Import.AuthorityCsv.Write(writer, CsvHeader, entries.Select(e => new[]
        {
            e.Sequence.ToString(CultureInfo.InvariantCulture), Import.AuthorityCsv.FormatDate(e.At), e.UserId, e.Roles, e.Action, e.Outcome.ToString(),
            e.Status.ToString(CultureInfo.InvariantCulture), e.RequestId, e.TraceId, e.ChildId, e.TeamId, e.WorkerId, e.OtherTeamId, e.OtherWorkerId,
            e.Rule, e.Figures, e.Reason, e.OverrideReason, e.Detail,
        }));
        return Encoding.UTF8.GetBytes(writer.ToString());
    }
}
