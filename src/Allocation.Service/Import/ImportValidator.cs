using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Seeding;

namespace Allocation.Service.Import;

/// <summary>A worker the authority already has, as far as an import needs to know it.</summary>
public sealed record ExistingWorker(string TeamId, int Caseload, int Ceiling);

/// <summary>What the authority already holds of the ids the files mention.</summary>
public sealed record ExistingAuthority(
    IReadOnlySet<string> Teams,
    IReadOnlyDictionary<string, ExistingWorker> Workers,
    IReadOnlySet<string> Children)
{
    public static readonly ExistingAuthority Empty = new(new HashSet<string>(), new Dictionary<string, ExistingWorker>(), new HashSet<string>());
}

public sealed record ImportValidation(IReadOnlyList<CsvProblem> Problems, AuthorityLoad? Load)
{
    public bool Valid => Problems.Count == 0;
}

/// <summary>
/// Checks the rows against each other and the authority before anything is written; any problem and nothing is
/// loaded. Pure: the caller gathers <see cref="ExistingAuthority"/> from the grains.
/// </summary>
public static class ImportValidator
{
    public static ImportValidation Validate(AuthorityFiles files, ExistingAuthority existing, AllocationOptions options, DateTimeOffset now)
    {
        var problems = new List<CsvProblem>(files.Problems);
        void Reject(string file, int line, string? column, string reason) => problems.Add(new CsvProblem(file, line, column, reason));

        var teams = new Dictionary<string, TeamRow>(StringComparer.Ordinal);
        foreach (var t in files.Teams)
        {
            if (!teams.TryAdd(t.Id, t))
            {
                Reject(AuthorityCsv.TeamsFile, t.Line, "team_id", $"Duplicate team_id '{t.Id}' (first on line {teams[t.Id].Line}).");
            }
        }

        bool TeamKnown(string id) => files.DeclaredTeams.Contains(id) || existing.Teams.Contains(id);

        var workers = new Dictionary<string, WorkerRow>(StringComparer.Ordinal);
        foreach (var w in files.Workers)
        {
            if (!workers.TryAdd(w.Id, w))
            {
                Reject(AuthorityCsv.WorkersFile, w.Line, "worker_id", $"Duplicate worker_id '{w.Id}' (first on line {workers[w.Id].Line}).");
                continue;
            }

            if (!TeamKnown(w.TeamId))
            {
                Reject(AuthorityCsv.WorkersFile, w.Line, "team_id", $"Unknown team '{w.TeamId}': not in teams.csv nor in the authority.");
            }

            if (existing.Workers.TryGetValue(w.Id, out var known) && known.TeamId != w.TeamId && known.Caseload > 0)
            {
                Reject(AuthorityCsv.WorkersFile, w.Line, "team_id",
                    $"Worker '{w.Id}' holds {known.Caseload} children in team '{known.TeamId}'; move them before changing team.");
            }
        }

        bool WorkerKnown(string id) => files.DeclaredWorkers.Contains(id) || existing.Workers.ContainsKey(id);
        string? TeamOfWorker(string id) => workers.TryGetValue(id, out var w) ? w.TeamId : existing.Workers.GetValueOrDefault(id)?.TeamId;

        var children = new Dictionary<string, ChildRow>(StringComparer.Ordinal);
        var caseloads = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in files.Children)
        {
            if (!children.TryAdd(c.Id, c))
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "child_id", $"Duplicate child_id '{c.Id}' (first on line {children[c.Id].Line}).");
                continue;
            }

            if (existing.Children.Contains(c.Id))
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "child_id", $"Child '{c.Id}' already exists; import loads new children only.");
            }

            if (!TeamKnown(c.TeamId))
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "team_id", $"Unknown team '{c.TeamId}': not in teams.csv nor in the authority.");
            }

            if (c.ReferredAt > now)
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "referred_at", "referred_at is in the future.");
            }

            if (c.ClockStartedAt > now)
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "clock_started_at", "clock_started_at is in the future.");
            }

            // A ceiling override is a senior leader's decision; senior leaders hold no caseload, so one named in the
            // file as a worker of the authority (in the file or already loaded) is not who decided it.
            if (c.Override is { } decision && WorkerKnown(decision.By))
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, "override_by",
                    $"'{decision.By}' is a worker of the authority; override_by names the senior leader who decided the override.");
            }

            if (c.WorkerId is { } workerId)
            {
                if (!WorkerKnown(workerId))
                {
                    Reject(AuthorityCsv.ChildrenFile, c.Line, "worker_id", $"Unknown worker '{workerId}': not in workers.csv nor in the authority.");
                }
                else if (TeamOfWorker(workerId) is { } workerTeam && workerTeam != c.TeamId)
                {
                    Reject(AuthorityCsv.ChildrenFile, c.Line, "worker_id", $"Worker '{workerId}' is in team '{workerTeam}', not '{c.TeamId}'.");
                }
            }
        }

        // Ceilings: the worker's caseload after the import, counted in file order, so the rows over it are the ones named.
        foreach (var c in files.Children.Where(c => c.WorkerId is not null && children[c.Id] == c))
        {
            var workerId = c.WorkerId!;
            if ((!workers.TryGetValue(workerId, out var w) && !existing.Workers.ContainsKey(workerId)) || TeamOfWorker(workerId) != c.TeamId)
            {
                continue;
            }

            var before = caseloads.TryGetValue(workerId, out var n) ? n : existing.Workers.GetValueOrDefault(workerId)?.Caseload ?? 0;
            caseloads[workerId] = before + 1;
            var ceiling = w is null ? existing.Workers[workerId].Ceiling : AllocationRules.Ceiling(w.Role, w.Fte, w.Ceiling, options);
            if (AllocationRules.CheckCapacity(before, ceiling, c.Override, options) is { } refusal)
            {
                Reject(AuthorityCsv.ChildrenFile, c.Line, c.Override is null ? "worker_id" : "override_by",
                    refusal.Detail + (c.Override is null ? " Mark the row with override_by and override_reason to load it as it is." : ""));
            }
        }

        var histories = new Dictionary<string, List<HistoryRow>>(StringComparer.Ordinal);
        foreach (var h in files.History)
        {
            if (!files.DeclaredChildren.Contains(h.ChildId))
            {
                Reject(AuthorityCsv.HistoryFile, h.Line, "child_id", $"Child '{h.ChildId}' is not in children.csv.");
                continue;
            }

            // A past period may name a worker who has since left and is in no file; the current one must be known.
            if (h.To is null && !WorkerKnown(h.WorkerId))
            {
                Reject(AuthorityCsv.HistoryFile, h.Line, "worker_id", $"Unknown worker '{h.WorkerId}': not in workers.csv nor in the authority.");
            }

            if (h.To is { } to && to <= h.From)
            {
                Reject(AuthorityCsv.HistoryFile, h.Line, "to", "'to' must be after 'from'.");
                continue;
            }

            if (h.From > now || h.To > now)
            {
                Reject(AuthorityCsv.HistoryFile, h.Line, h.From > now ? "from" : "to", "A worker period cannot be in the future.");
                continue;
            }

            if (!histories.TryGetValue(h.ChildId, out var list))
            {
                histories[h.ChildId] = list = [];
            }

            list.Add(h);
        }

        foreach (var (childId, periods) in histories)
        {
            periods.Sort((a, b) => a.From.CompareTo(b.From));
            children.TryGetValue(childId, out var child);
            for (var i = 0; i < periods.Count; i++)
            {
                var p = periods[i];
                if (i > 0 && periods[i - 1] is var previous && (previous.To is null || previous.To > p.From))
                {
                    Reject(AuthorityCsv.HistoryFile, p.Line, "from", previous.To is null
                        ? $"Starts after the open period on line {previous.Line}; only the last period may be open."
                        : $"Overlaps the period on line {previous.Line}, which ends at {AuthorityCsv.FormatDate(previous.To.Value)}.");
                }

                if (p.To is null && child is not null && child.WorkerId != p.WorkerId)
                {
                    Reject(AuthorityCsv.HistoryFile, p.Line, "worker_id", child.WorkerId is null
                        ? $"An open period, but child '{childId}' has no worker_id in children.csv."
                        : $"The open period's worker must be the child's current worker '{child.WorkerId}'.");
                }
            }
        }

        if (problems.Count > 0)
        {
            return new ImportValidation(problems.OrderBy(p => AuthorityCsv.Files.ToList().IndexOf(p.File)).ThenBy(p => p.Line).ToList(), null);
        }

        return new ImportValidation([], new AuthorityLoad(
            teams.Values.Select(t => new LoadTeam(t.Id, t.Name)).ToList(),
            workers.Values.Select(w => new LoadWorker(w.Id, new UpsertWorker(w.Name, w.TeamId, w.Role, w.Fte, w.Ceiling, Supervisions: w.Supervisions))).ToList(),
            children.Values.Select(c => new LoadChild(c.Id, ToImport(c, histories.GetValueOrDefault(c.Id) ?? []))).ToList()));
    }

    private static ImportChild ToImport(ChildRow c, List<HistoryRow> periods)
    {
        var history = periods.Select(p => new WorkerPeriod(p.WorkerId, c.TeamId, p.From, p.To, p.Reason,
            Override: p.To is null ? c.Override : null)).ToList();
        if (c.WorkerId is { } workerId && history.All(p => p.To is not null))
        {
            // No open period in the history file: the current allocation starts when the clock did (or when the last period ended).
            var from = history.Count == 0 ? c.ClockStartedAt : Max(c.ClockStartedAt, history[^1].To!.Value);
            history.Add(new WorkerPeriod(workerId, c.TeamId, from, null, "import", Override: c.Override));
        }

        return new ImportChild(c.TeamId, c.ReferredAt, c.ClockStartedAt, history, c.Override, c.CaseRecord, c.FamilyId);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
