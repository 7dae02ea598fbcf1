namespace Allocation.Service.Audit;

public enum AuditOutcome
{
    /// <summary>Applied (or answered from the first result for a retry with the same request id).</summary>
    Accepted,
    /// <summary>A rule refused it (409): <see cref="AuditEntry.Rule"/> and <see cref="AuditEntry.Figures"/> say which and why.</summary>
    Refused,
    /// <summary>The user's role or teams do not allow it (403).</summary>
    Forbidden,
    /// <summary>An id it names does not exist (404).</summary>
    NotFound,
    /// <summary>The command was malformed (400).</summary>
    Invalid,
    /// <summary>It failed or timed out part way (5xx); it may have been applied, and a retry with its request id is safe.</summary>
    Failed,
    /// <summary>Not a command: an event the service recorded itself (a missed 24-hour deadline), shown in a child's allocation history.</summary>
    Recorded,
}

/// <summary>
/// One command as decided: who (user id and roles), when, what, the command's request id and the HTTP trace id, the
/// child, team and worker it concerns (and the other team or worker: a transfer's destination, the worker a child
/// left), and for a refusal the rule and its figures; the reason given and any ceiling override's reason.
/// Ids only: no names or case details.
/// </summary>
public sealed record AuditEntry(
    long Sequence,
    DateTimeOffset At,
    string UserId,
    string Roles,
    string Action,
    AuditOutcome Outcome,
    int Status,
    string? RequestId,
    string? TraceId,
    string? ChildId,
    string? TeamId,
    string? WorkerId,
    string? OtherTeamId,
    string? OtherWorkerId,
    string? Rule,
    string? Figures,
    string? Reason,
    string? OverrideReason,
    string? Detail)
{
    /// <summary>The entry with every text cut to <see cref="Api.Problems.MaxText"/> characters. Commands are recorded even
    /// when validation refuses them for a field that is too long, and the trail is append-only: what was refused for
    /// its size must not be stored at that size.</summary>
    public AuditEntry Clipped() => this with
    {
        UserId = Clip(UserId)!, Roles = Clip(Roles)!, Action = Clip(Action)!, RequestId = Clip(RequestId), TraceId = Clip(TraceId),
        ChildId = Clip(ChildId), TeamId = Clip(TeamId), WorkerId = Clip(WorkerId), OtherTeamId = Clip(OtherTeamId),
        OtherWorkerId = Clip(OtherWorkerId), Rule = Clip(Rule), Figures = Clip(Figures), Reason = Clip(Reason),
        OverrideReason = Clip(OverrideReason), Detail = Clip(Detail),
    };

    /// <summary>The text as it can be stored: at most <see cref="Api.Problems.MaxText"/> characters (a surrogate pair is
    /// never cut in two), and every control character (other than tab and line breaks) or broken surrogate replaced by
    /// U+FFFD. A command refused for such a character is still recorded, with what the user sent made visible rather
    /// than refused by PostgreSQL (which takes no NUL in text) after the refusal was decided.</summary>
    private static string? Clip(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var length = Math.Min(text.Length, Api.Problems.MaxText);
        if (length < text.Length && char.IsHighSurrogate(text[length - 1]) && char.IsLowSurrogate(text[length]))
        {
            length--;
        }

        var clipped = length < text.Length ? text[..length] : text;
        return Api.Problems.IsPlainText(clipped) ? clipped : string.Create(clipped.Length, clipped, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
                {
                    span[i] = c;
                    span[i + 1] = source[++i];
                }
                else
                {
                    span[i] = char.IsSurrogate(c) || (char.IsControl(c) && c is not ('\t' or '\n' or '\r')) ? '\uFFFD' : c;
                }
            }
        });
    }

    /// <summary>A retry of the same command by the same user with the same outcome is the same decision: recorded
    /// once. Someone else using that request id is another decision, and on the record.</summary>
    public string? DedupKey() => RequestId is null
        ? null
        : string.Join('\u001f', Action, ChildId ?? WorkerId ?? TeamId ?? "", RequestId, Outcome.ToString(), UserId);
}

/// <summary>Entries about a child, a worker (either worker field) or a team, in a time range, after a sequence number
/// (for paging), oldest first. A team's entries are those in its own team field, and the accepted transfers into it
/// (the child is now the team's); a refused or forbidden transfer naming the team as its destination is not the
/// team's to read.</summary>
public sealed record AuditQuery(
    string? ChildId = null,
    string? WorkerId = null,
    string? TeamId = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    long After = 0,
    int Limit = 1000)
{
    public bool Matches(AuditEntry e) =>
        e.Sequence > After
        && (ChildId is null || e.ChildId == ChildId)
        && (WorkerId is null || e.WorkerId == WorkerId || e.OtherWorkerId == WorkerId)
        && (TeamId is null || e.TeamId == TeamId || (e.OtherTeamId == TeamId && e.Outcome == AuditOutcome.Accepted))
        && (From is null || e.At >= From)
        && (To is null || e.At < To);
}

/// <summary>The append-only record of every command. <see cref="AppendAsync"/> returns once the entry is durable.</summary>
public interface IAuditTrail
{
    /// <summary>Appends the entry (its <see cref="AuditEntry.Sequence"/> is assigned here); a second entry with the same
    /// <see cref="AuditEntry.DedupKey()"/> is ignored.</summary>
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);
}

/// <summary>The embedded default: kept in memory, lost on restart like everything else in that mode.</summary>
public sealed class InMemoryAuditTrail : IAuditTrail
{
    private readonly Lock _gate = new();
    private readonly List<AuditEntry> _entries = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (entry.DedupKey() is not { } key || _keys.Add(key))
            {
                _entries.Add(entry with { Sequence = _entries.Count + 1 });
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<AuditEntry>>(_entries.Where(query.Matches).Take(query.Limit).ToList());
        }
    }
}

public static class AuditTrailSetup
{
    /// <summary>PostgreSQL when the silo persists there (the table comes with the schema), else in memory.</summary>
    public static IServiceCollection AddAuditTrail(this IServiceCollection services, Hosting.StorageMode storage) =>
        storage.IsPostgres
            ? services.AddSingleton<IAuditTrail>(sp => new PostgresAuditTrail(storage.ConnectionString!, sp.GetRequiredService<ILogger<PostgresAuditTrail>>()))
            : services.AddSingleton<IAuditTrail, InMemoryAuditTrail>();
}

public static class AuditIds
{
    /// <summary>The trace id problem details carry, so an error a user quotes leads to its audit entry.</summary>
    public static string TraceId(HttpContext http) => System.Diagnostics.Activity.Current?.Id ?? http.TraceIdentifier;
}
