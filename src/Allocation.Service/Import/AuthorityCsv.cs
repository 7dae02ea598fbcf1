using System.Globalization;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Service.Api;
using CsvHelper;

namespace Allocation.Service.Import;

/// <summary>One rejected row (or header): the file, its 1-based line, the column when one is to blame, and why.</summary>
public sealed record CsvProblem(string File, int Line, string? Column, string Reason);

public sealed record TeamRow(int Line, string Id, string Name);

public sealed record WorkerRow(int Line, string Id, string Name, string TeamId, WorkerRole Role, decimal Fte, int? Ceiling,
    IReadOnlyList<DateOnly>? Supervisions = null);

public sealed record ChildRow(
    int Line, string Id, string TeamId, DateTimeOffset ReferredAt, DateTimeOffset ClockStartedAt, string? WorkerId,
    CeilingOverride? Override, CaseRecord? CaseRecord = null, string? FamilyId = null);

public sealed record HistoryRow(int Line, string ChildId, string WorkerId, DateTimeOffset From, DateTimeOffset? To, string Reason);

/// <summary>
/// The four files as read: the rows whose fields all parsed, the problems of those that did not, and every id a row
/// declared (even a rejected one), so one bad worker row is reported once rather than again by each of its children.
/// </summary>
public sealed class AuthorityFiles
{
    public List<TeamRow> Teams { get; } = [];
    public List<WorkerRow> Workers { get; } = [];
    public List<ChildRow> Children { get; } = [];
    public List<HistoryRow> History { get; } = [];
    public List<CsvProblem> Problems { get; } = [];
    public HashSet<string> DeclaredTeams { get; } = new(StringComparer.Ordinal);
    public HashSet<string> DeclaredWorkers { get; } = new(StringComparer.Ordinal);
    public HashSet<string> DeclaredChildren { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The bulk import and export formats: UTF-8, a header row, RFC 4180 quoting, ISO 8601 dates (UTC when no offset).
/// Reading checks each field on its own; <see cref="ImportValidator"/> checks rows against each other and the authority.
/// </summary>
public static class AuthorityCsv
{
    public const string TeamsFile = "teams.csv";
    public const string WorkersFile = "workers.csv";
    public const string ChildrenFile = "children.csv";
    public const string HistoryFile = "worker_history.csv";

    /// <summary>
    /// The largest import request (and file) accepted: a national authority (400,000 children with their worker
    /// history) is about 110 MB of CSV, far over Kestrel's default 30 MB body limit, which stays for every other endpoint.
    /// </summary>
    public const long MaxImportBytes = 1L << 30;

    public static readonly IReadOnlyList<string> Files = [TeamsFile, WorkersFile, ChildrenFile, HistoryFile];

    public static readonly string[] TeamColumns = ["team_id", "name"];
    public static readonly string[] WorkerColumns = ["worker_id", "name", "team_id", "role", "fte", "ceiling", "supervisions"];

    /// <summary>The case record the nightly KPI report reads (all optional): dates as yyyy-MM-dd, seen as true or false.</summary>
    public static readonly string[] CaseRecordColumns =
    [
        "plan", "plan_started_on", "visit_due_on", "visit_done_on", "review_due_on", "review_done_on", "assessment_started_on",
        "assessment_completed_on", "child_seen", "child_seen_alone", "last_supervision_on", "last_management_oversight_on", "previous_referral_on",
    ];

    public static readonly string[] ChildColumns =
        ["child_id", "team_id", "referred_at", "clock_started_at", "worker_id", "override_by", "override_reason", "family_id", .. CaseRecordColumns];
    public static readonly string[] HistoryColumns = ["child_id", "worker_id", "from", "to", "reason"];

    private static readonly string[] OptionalColumns = ["ceiling", "override_by", "override_reason", "supervisions", "family_id", .. CaseRecordColumns];

    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    public static void ReadTeams(Stream stream, AuthorityFiles into) => Read(TeamsFile, TeamColumns, stream, into, row =>
    {
        var id = row.Id("team_id");
        if (id is not null)
        {
            into.DeclaredTeams.Add(id);
        }

        var name = row.Text("name");
        if (row.Ok)
        {
            into.Teams.Add(new TeamRow(row.Line, id!, name!));
        }
    });

    public static void ReadWorkers(Stream stream, AuthorityFiles into) => Read(WorkersFile, WorkerColumns, stream, into, row =>
    {
        var id = row.Id("worker_id");
        if (id is not null)
        {
            into.DeclaredWorkers.Add(id);
        }

        var name = row.Text("name");
        var team = row.Id("team_id");
        WorkerRole? role = null;
        if (row.Text("role") is { } roleText)
        {
            if (Enum.TryParse<WorkerRole>(roleText, ignoreCase: false, out var r) && Enum.IsDefined(r) && !int.TryParse(roleText, out _))
            {
                role = r;
            }
            else
            {
                row.Reject("role", $"Unknown role '{roleText}'; expected one of {string.Join(", ", Enum.GetNames<WorkerRole>())}.");
            }
        }

        decimal? fte = null;
        if (row.Text("fte") is { } fteText)
        {
            if (decimal.TryParse(fteText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var f) && f > 0 && f <= 1)
            {
                fte = f;
            }
            else
            {
                row.Reject("fte", $"FTE '{fteText}' must be a number above 0 and at most 1.");
            }
        }

        int? ceiling = null;
        if (row.Optional("ceiling") is { } ceilingText)
        {
            if (int.TryParse(ceilingText, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c <= 1000)
            {
                ceiling = c;
            }
            else
            {
                row.Reject("ceiling", $"Ceiling '{ceilingText}' must be a whole number from 0 to 1000.");
            }
        }

        // The worker's own supervision dates (KPI 43), separated by ';'.
        List<DateOnly>? supervisions = null;
        if (row.Optional("supervisions") is { } supervisionText)
        {
            supervisions = [];
            foreach (var part in supervisionText.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Take(400))
            {
                if (DateOnly.TryParseExact(part, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                {
                    supervisions.Add(day);
                }
                else
                {
                    row.Reject("supervisions", $"'{part}' is not a date as yyyy-MM-dd; separate supervision dates with ';'.");
                    break;
                }
            }
        }

        if (row.Ok)
        {
            into.Workers.Add(new WorkerRow(row.Line, id!, name!, team!, role!.Value, fte!.Value, ceiling, supervisions));
        }
    });

    public static void ReadChildren(Stream stream, AuthorityFiles into) => Read(ChildrenFile, ChildColumns, stream, into, row =>
    {
        var id = row.Id("child_id");
        if (id is not null)
        {
            into.DeclaredChildren.Add(id);
        }

        var team = row.Id("team_id");
        var referred = row.Date("referred_at");
        var clock = row.Date("clock_started_at");
        var worker = row.Optional("worker_id") is null ? null : row.Id("worker_id");
        var by = row.Optional("override_by") is null ? null : row.Id("override_by");
        var reason = row.OptionalText("override_reason");
        // Brothers and sisters share the case management system's family id; the recommendation uses it.
        var family = row.Optional("family_id") is null ? null : row.Id("family_id");
        if ((by is null) != (reason is null))
        {
            row.Reject(by is null ? "override_by" : "override_reason", "A ceiling override needs both override_by and override_reason.");
        }
        else if (by is not null && worker is null)
        {
            row.Reject("override_by", "A ceiling override needs a current worker.");
        }

        var record = ReadCaseRecord(row);
        if (row.Ok)
        {
            into.Children.Add(new ChildRow(row.Line, id!, team!, referred!.Value, clock!.Value, worker,
                by is null ? null : new CeilingOverride(by, reason!), record, family));
        }
    });

    public static void ReadHistory(Stream stream, AuthorityFiles into) => Read(HistoryFile, HistoryColumns, stream, into, row =>
    {
        var child = row.Id("child_id");
        var worker = row.Id("worker_id");
        var from = row.Date("from");
        var to = row.Optional("to") is null ? null : row.Date("to");
        var reason = row.OptionalText("reason") ?? "import";
        if (reason.Length > 500)
        {
            row.Reject("reason", "'reason' must be at most 500 characters.");
        }

        if (row.Ok)
        {
            into.History.Add(new HistoryRow(row.Line, child!, worker!, from!.Value, to, reason));
        }
    });

    /// <summary>The case record columns of a child's row; null when none is filled in.</summary>
    private static CaseRecord? ReadCaseRecord(Row row)
    {
        if (!CaseRecordColumns.Any(c => row.Optional(c) is not null))
        {
            return null;
        }

        PlanType? plan = null;
        if (row.Optional("plan") is { } planText)
        {
            if (Enum.TryParse<PlanType>(planText, ignoreCase: false, out var p) && Enum.IsDefined(p) && !int.TryParse(planText, out _))
            {
                plan = p;
            }
            else
            {
                row.Reject("plan", $"Unknown plan '{planText}'; expected one of {string.Join(", ", Enum.GetNames<PlanType>())}.");
            }
        }

        var record = new CaseRecord(plan, row.Day("plan_started_on"), row.Day("visit_due_on"), row.Day("visit_done_on"),
            row.Day("assessment_started_on"), row.Day("assessment_completed_on"), row.Day("last_supervision_on"),
            row.Day("last_management_oversight_on"), row.Day("review_due_on"), row.Day("review_done_on"),
            row.Flag("child_seen"), row.Flag("child_seen_alone"), row.Day("previous_referral_on"));
        if (row.Ok && record.Check() is { } refusal)
        {
            row.Reject(null, refusal.Detail);
        }

        return record;
    }

    public static string FormatDay(DateOnly? value) => value?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "";

    public static string FormatFlag(bool? value) => value is { } v ? (v ? "true" : "false") : "";

    /// <summary>A child's case record as the import reads it, in <see cref="CaseRecordColumns"/> order.</summary>
    public static string?[] CaseRecordFields(CaseRecord? r) => r is null
        ? new string?[CaseRecordColumns.Length]
        :
        [
            r.Plan?.ToString(), FormatDay(r.PlanStartedOn), FormatDay(r.VisitDueOn), FormatDay(r.VisitDoneOn), FormatDay(r.ReviewDueOn),
            FormatDay(r.ReviewDoneOn), FormatDay(r.AssessmentStartedOn), FormatDay(r.AssessmentCompletedOn), FormatFlag(r.ChildSeen),
            FormatFlag(r.ChildSeenAlone), FormatDay(r.LastSupervisionOn), FormatDay(r.LastManagementOversightOn), FormatDay(r.PreviousReferralOn),
        ];

    public static string FormatDate(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static string FormatFte(decimal fte) => fte.ToString("0.0##", CultureInfo.InvariantCulture);

    /// <summary>Writes a header and rows with RFC 4180 quoting. A field that a spreadsheet would run as a formula
    /// (starting with <c>= + - @</c>, tab or CR) is written with a leading <c>'</c>, so it opens as text: reasons,
    /// names and request ids are typed by users, and these files are opened by leaders in Excel.</summary>
    public static void Write(TextWriter writer, string[] header, IEnumerable<string?[]> rows)
    {
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { Injection = CsvInjection.Escape }, leaveOpen: true);
        csv.WriteHeader(header);
        foreach (var row in rows)
        {
            csv.WriteRecord(row.Select(v => v ?? "").ToArray());
        }
    }

    private static void Read(string file, string[] columns, Stream stream, AuthorityFiles into, Action<Row> read)
    {
        using var csv = CsvReader.Create(stream, new CsvReaderOptions { HasHeader = true, TrackLineNumbers = true }, leaveOpen: true);
        try
        {
            var header = csv.Headers;
            if (header is null || header.Count == 0)
            {
                into.Problems.Add(new CsvProblem(file, 1, null, $"A header row is required: {string.Join(",", columns)}."));
                return;
            }

            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var headerOk = true;
            for (var i = 0; i < header.Count; i++)
            {
                var name = header[i].Trim();
                if (!columns.Contains(name) || !index.TryAdd(name, i))
                {
                    into.Problems.Add(new CsvProblem(file, 1, name, $"Unexpected or repeated column; the columns are {string.Join(",", columns)}."));
                    headerOk = false;
                }
            }

            foreach (var missing in columns.Where(c => !OptionalColumns.Contains(c) && !index.ContainsKey(c)))
            {
                into.Problems.Add(new CsvProblem(file, 1, missing, "Required column missing from the header row."));
                headerOk = false;
            }

            if (!headerOk)
            {
                return;
            }

            while (csv.Read())
            {
                var row = new Row(file, (int)csv.LineNumber, index, csv, into.Problems);
                if (csv.FieldCount != header.Count)
                {
                    row.Reject(null, $"Expected {header.Count} fields, found {csv.FieldCount}.");
                    continue;
                }

                read(row);
            }
        }
        catch (CsvFormatException e)
        {
            into.Problems.Add(new CsvProblem(file, 0, null, $"Not readable as CSV: {e.Message}"));
        }
    }

    /// <summary>The current record, read field by field; each bad field adds a problem and marks the row rejected.</summary>
    private sealed class Row(string file, int line, Dictionary<string, int> index, CsvReader csv, List<CsvProblem> problems)
    {
        public int Line => line;

        public bool Ok { get; private set; } = true;

        public void Reject(string? column, string reason)
        {
            Ok = false;
            problems.Add(new CsvProblem(file, line, column, reason));
        }

        public string? Optional(string column) =>
            index.TryGetValue(column, out var i) && csv.GetString(i).Trim() is { Length: > 0 } value ? value : null;

        /// <summary>Optional free text, at most <see cref="Api.Problems.MaxText"/> characters.</summary>
        public string? OptionalText(string column)
        {
            var value = Optional(column);
            if (value is { Length: > Api.Problems.MaxText })
            {
                Reject(column, $"'{column}' must be at most {Api.Problems.MaxText} characters.");
                return null;
            }

            return value;
        }

        public string? Text(string column)
        {
            var value = Optional(column);
            if (value is null)
            {
                Reject(column, $"'{column}' is required.");
            }
            else if (value.Length > 500)
            {
                Reject(column, $"'{column}' must be at most 500 characters.");
                return null;
            }

            return value;
        }

        public string? Id(string column)
        {
            var value = Optional(column);
            if (value is null)
            {
                Reject(column, $"'{column}' is required.");
                return null;
            }

            if (!Problems.IsValidId(value))
            {
                Reject(column, $"'{column}' must be 1-64 characters of letters, digits, '.', '_' or '-'.");
                return null;
            }

            return value;
        }

        /// <summary>An optional calendar date (yyyy-MM-dd).</summary>
        public DateOnly? Day(string column)
        {
            if (Optional(column) is not { } value)
            {
                return null;
            }

            if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return day;
            }

            Reject(column, $"'{value}' is not a date as yyyy-MM-dd.");
            return null;
        }

        /// <summary>An optional true or false.</summary>
        public bool? Flag(string column)
        {
            switch (Optional(column))
            {
                case null:
                    return null;
                case "true":
                    return true;
                case "false":
                    return false;
                case var other:
                    Reject(column, $"'{other}' must be true or false.");
                    return null;
            }
        }

        public DateTimeOffset? Date(string column)
        {
            var value = Optional(column);
            if (value is null)
            {
                Reject(column, $"'{column}' is required.");
                return null;
            }

            if (!DateTimeOffset.TryParseExact(value, DateFormats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
            {
                Reject(column, $"'{value}' is not an ISO 8601 date or date and time (e.g. 2026-03-01 or 2026-03-01T09:30:00Z).");
                return null;
            }

            return date;
        }
    }
}
