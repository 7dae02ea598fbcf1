using System.Globalization;
using Allocation.Grains;
using CsvHelper;

namespace Allocation.LoadTests;

/// <summary>The sizes issue 7 asks for: DOMAIN.md's large authority and England as one authority.</summary>
public sealed record SyntheticSize(string Name, int Teams, int Workers, int Children)
{
    public static readonly SyntheticSize Large = new("large", 60, 600, 10_000);
    public static readonly SyntheticSize National = new("national", 2_500, 33_000, 400_000);

    public static SyntheticSize Parse(string name) => name switch
    {
        "large" => Large,
        "national" => National,
        _ => throw new ArgumentException($"--size must be large or national, not '{name}'."),
    };
}

public sealed record SyntheticTeam(string Id, string Name, string Kind, decimal EstablishmentFte);

public sealed record SyntheticWorker(string Id, string Name, string TeamId, WorkerRole Role, decimal Fte, int Ceiling);

public sealed record SyntheticChild(
    string Id, string TeamId, DateTimeOffset ReferredAt, DateTimeOffset ClockStartedAt, string? WorkerId, string? OverrideBy, string? OverrideReason,
    string? FamilyId = null);

public sealed record SyntheticPeriod(string ChildId, string WorkerId, DateTimeOffset From, DateTimeOffset? To, string Reason);

/// <summary>What a generated authority looks like, for the console and the tests.</summary>
public sealed record SyntheticFigures(
    int Teams, int Workers, int Children, int Allocated, int Unallocated, double AverageCaseload, int MaxCaseload,
    double CaseloadsAtOrUnderCeilingPercent, int WorkersOverCeiling, double PartTimePercent, double NewlyQualifiedPercent,
    double VacancyPercent, int HistoryPeriods, double ChildrenWithAChangePercent, double ChildrenOverThreeWorkersPercent,
    double UnallocatedBreachedPercent);

/// <summary>
/// A synthetic authority in the bulk import's CSV format (see README, "Bulk import and export"), generated from a seed:
/// the same seed, size and as-of date always give byte-identical files. The shapes follow DOMAIN.md's public figures:
/// teams of 6-12 (large) or 8-16 (national) case-holding workers, about 18% part-time, about 12% newly qualified (ceiling
/// 12), personal advisers in care-leaver teams, caseloads drawn from how full the authority is (about 16 on average for
/// the large authority, about 12 nationally, since 400,000 children over 33,000 workers is 12), about 4% of workers held
/// one to three children over their ceiling by a recorded override (the import accepts those rows only with
/// override_by and override_reason), about 19% of funded posts vacant, 2.5% of children waiting for allocation, and a
/// worker-change history in which some past workers have left the authority.
/// </summary>
public sealed class SyntheticAuthority
{
    public const string EstablishmentFile = "establishment.csv";

    private const double UnallocatedShare = 0.025;
    private const double OverCeilingShare = 0.04;
    private const double PartTimeShare = 0.18;
    private const double NewlyQualifiedShare = 0.12;
    private const double AdvancedPractitionerShare = 0.12;
    private const double MeanVacancy = 0.19;
    private const string OverrideReason = "Agreed above ceiling pending recruitment to the team";

    private static readonly string[] TeamKinds =
        ["Assessment", "Child in Need", "Child Protection", "Children in Care", "Care Leavers", "Disabled Children"];

    private static readonly double[] TeamKindWeights = [0.20, 0.24, 0.20, 0.20, 0.10, 0.06];

    private static readonly string[] Areas = ["North", "South", "East", "West", "Central", "Coastal", "Rural", "City"];

    private static readonly string[] FirstNames =
    [
        "Amira", "Ben", "Chloe", "Daniel", "Ella", "Farah", "George", "Hannah", "Isaac", "Jade", "Kofi", "Laura", "Mohammed",
        "Niamh", "Owen", "Priya", "Rhys", "Sara", "Tom", "Uma", "Victor", "Wendy", "Yusuf", "Zoe",
    ];

    private static readonly string[] Surnames =
    [
        "Ahmed", "Baker", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Iqbal", "Jones", "Khan", "Lewis",
        "Morgan", "Nowak", "Okafor", "Patel", "Roberts", "Smith", "Taylor", "Walker", "Williams", "Wright", "Young",
    ];

    private static readonly string[] ChangeReasons =
        ["caseload balancing", "worker on long-term leave", "case stepped up", "case stepped down", "worker moved team"];

    private readonly Random _random;
    private readonly DateTimeOffset _asOf;

    private SyntheticAuthority(SyntheticSize size, int seed, DateTimeOffset asOf)
    {
        Size = size;
        Seed = seed;
        _asOf = asOf;
        // Random(int) is the seeded legacy algorithm, stable across .NET versions; it is the only source of chance here.
        _random = new Random(seed);
    }

    public SyntheticSize Size { get; }

    public int Seed { get; }

    public DateTimeOffset AsOf => _asOf;

    public List<SyntheticTeam> Teams { get; } = [];

    public List<SyntheticWorker> Workers { get; } = [];

    public List<SyntheticChild> Children { get; } = [];

    public List<SyntheticPeriod> History { get; } = [];

    /// <summary>Generates the authority; <paramref name="asOf"/> is the moment the data describes (no date is after it).</summary>
    public static SyntheticAuthority Generate(SyntheticSize size, int seed, DateTimeOffset asOf)
    {
        var authority = new SyntheticAuthority(size, seed, asOf.ToUniversalTime());
        authority.Build(new AllocationOptions());
        authority.AssignFamilies(seed);
        return authority;
    }

    /// <summary>
    /// About one child in eight shares a family id with one or two others of the same team (brothers and sisters), some
    /// already with a worker. A chance source of its own, so the rest of the authority is as it was without families.
    /// </summary>
    private void AssignFamilies(int seed)
    {
        var random = new Random(unchecked(seed * 7919 + 17));
        var family = 0;
        foreach (var team in Children.Select((c, i) => (c, i)).GroupBy(x => x.c.TeamId))
        {
            var members = team.Select(x => x.i).ToList();
            for (var k = 0; k + 2 < members.Count; k += 3)
            {
                if (random.NextDouble() >= 0.16)
                {
                    continue;
                }

                var id = $"F-{++family:D6}";
                var size = random.NextDouble() < 0.7 ? 2 : 3;
                for (var j = 0; j < size; j++)
                {
                    Children[members[k + j]] = Children[members[k + j]] with { FamilyId = id };
                }
            }
        }
    }

    private void Build(AllocationOptions options)
    {
        var teamSizes = TeamSizes();
        var workerNumber = 0;
        var teamWorkers = new List<List<SyntheticWorker>>();
        for (var t = 0; t < Size.Teams; t++)
        {
            var kind = Pick(TeamKinds, TeamKindWeights);
            var teamId = $"T-{t + 1:D4}";
            var members = new List<SyntheticWorker>();
            for (var i = 0; i < teamSizes[t]; i++)
            {
                var role = RoleFor(kind);
                var fte = role == WorkerRole.NewlyQualified || _random.NextDouble() >= PartTimeShare
                    ? 1.0m
                    : Pick([0.5m, 0.6m, 0.8m, 0.9m], [0.25, 0.3, 0.3, 0.15]);
                var id = $"W-{++workerNumber:D5}";
                var name = $"{FirstNames[_random.Next(FirstNames.Length)]} {Surnames[_random.Next(Surnames.Length)]}";
                members.Add(new SyntheticWorker(id, name, teamId, role, fte, AllocationRules.Ceiling(role, fte, null, options)));
            }

            // Funded posts: the filled FTE grossed up by this team's vacancy rate (spread around the national ~19%).
            var vacancy = MeanVacancy + (_random.NextDouble() - 0.5) * 0.24;
            var establishment = Math.Round(members.Sum(w => w.Fte) / (decimal)(1 - vacancy) * 2, MidpointRounding.AwayFromZero) / 2;
            Teams.Add(new SyntheticTeam(teamId, $"{kind} {Areas[t % Areas.Length]} {t / Areas.Length + 1}", kind, establishment));
            Workers.AddRange(members);
            teamWorkers.Add(members);
        }

        var caseloads = Caseloads(out var unallocated);
        var queues = QueueSizes(unallocated);
        var childNumber = 0;
        var departed = 0;
        for (var t = 0; t < Teams.Count; t++)
        {
            var team = Teams[t];
            var members = teamWorkers[t];
            foreach (var worker in members)
            {
                var caseload = caseloads[worker.Id];
                for (var n = 0; n < caseload; n++)
                {
                    var childId = $"C-{++childNumber:D7}";
                    var over = n >= worker.Ceiling;
                    AddAllocatedChild(childId, team, worker, members, over, ref departed);
                }
            }

            for (var n = 0; n < queues[t]; n++)
            {
                AddWaitingChild($"C-{++childNumber:D7}", team, members, ref departed);
            }
        }
    }

    /// <summary>Team sizes from 60% to 120% of the mean (6-12 for the large authority, as DOMAIN.md has it), adjusted one worker at a time to the exact total.</summary>
    private int[] TeamSizes()
    {
        var mean = (double)Size.Workers / Size.Teams;
        var min = Math.Max(1, (int)Math.Round(mean * 0.6));
        var max = (int)Math.Round(mean * 1.2);
        var sizes = Enumerable.Range(0, Size.Teams).Select(_ => _random.Next(min, max + 1)).ToArray();
        var difference = Size.Workers - sizes.Sum();
        while (difference != 0)
        {
            var t = _random.Next(sizes.Length);
            if (difference > 0 && sizes[t] < max)
            {
                sizes[t]++;
                difference--;
            }
            else if (difference < 0 && sizes[t] > min)
            {
                sizes[t]--;
                difference++;
            }
        }

        return sizes;
    }

    private WorkerRole RoleFor(string kind)
    {
        var roll = _random.NextDouble();
        if (kind == "Care Leavers")
        {
            return roll < 0.75 ? WorkerRole.PersonalAdviser : roll < 0.9 ? WorkerRole.SocialWorker : WorkerRole.AdvancedPractitioner;
        }

        return roll < NewlyQualifiedShare ? WorkerRole.NewlyQualified
            : roll < NewlyQualifiedShare + AdvancedPractitionerShare ? WorkerRole.AdvancedPractitioner
            : WorkerRole.SocialWorker;
    }

    /// <summary>
    /// Each worker's caseload: the authority's fill (children to allocate over the places there are) with a spread per
    /// worker, never over the ceiling except for the few held over it by override; then adjusted a child at a time to
    /// the total. Whatever finds no place waits in a queue.
    /// </summary>
    private Dictionary<string, int> Caseloads(out int unallocated)
    {
        var toAllocate = Size.Children - (int)Math.Round(Size.Children * UnallocatedShare);
        var places = Workers.Sum(w => w.Ceiling);
        var fill = Math.Min(1.0, (double)toAllocate / places);
        var caseloads = new Dictionary<string, int>(StringComparer.Ordinal);
        var over = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in Workers)
        {
            if (w.Ceiling > 0 && _random.NextDouble() < OverCeilingShare)
            {
                caseloads[w.Id] = w.Ceiling + 1 + _random.Next(3);
                over.Add(w.Id);
            }
            else
            {
                var spread = fill + (_random.NextDouble() - 0.5) * 0.3;
                caseloads[w.Id] = Math.Clamp((int)Math.Round(w.Ceiling * spread), 0, w.Ceiling);
            }
        }

        var total = caseloads.Values.Sum();
        var adjustable = Workers.Where(w => !over.Contains(w.Id)).ToArray();
        var attempts = 0;
        while (total != toAllocate && attempts++ < 50 * Size.Children)
        {
            var w = adjustable[_random.Next(adjustable.Length)];
            if (total < toAllocate && caseloads[w.Id] < w.Ceiling)
            {
                caseloads[w.Id]++;
                total++;
            }
            else if (total > toAllocate && caseloads[w.Id] > 0)
            {
                caseloads[w.Id]--;
                total--;
            }
        }

        unallocated = Size.Children - total;
        return caseloads;
    }

    /// <summary>Waiting children by team: front-door (assessment) teams hold three times their share.</summary>
    private int[] QueueSizes(int unallocated)
    {
        var weights = Teams.Select(t => t.Kind == "Assessment" ? 3.0 : 1.0).ToArray();
        var sum = weights.Sum();
        var queues = weights.Select(w => (int)Math.Floor(unallocated * w / sum)).ToArray();
        for (var left = unallocated - queues.Sum(); left > 0; left--)
        {
            queues[_random.Next(queues.Length)]++;
        }

        return queues;
    }

    private void AddAllocatedChild(string childId, SyntheticTeam team, SyntheticWorker worker, List<SyntheticWorker> members, bool over, ref int departed)
    {
        // Open cases: assessments are weeks old; children in care and care leavers are known for years.
        var meanDays = team.Kind switch
        {
            "Assessment" => 20.0,
            "Children in Care" or "Care Leavers" or "Disabled Children" => 700.0,
            _ => 250.0,
        };
        var ageDays = Math.Min(6 * 365, -Math.Log(1 - _random.NextDouble()) * meanDays) + 1;
        var referred = Minute(_asOf.AddDays(-ageDays));
        // The first allocation: most within the day, some late (a breach kept in the record).
        var roll = _random.NextDouble();
        var delayHours = roll < 0.88 ? _random.NextDouble() * 20 : roll < 0.96 ? 20 + _random.NextDouble() * 4 : 24 + _random.NextDouble() * 48;
        var firstAllocation = Min(Minute(referred.AddHours(delayHours)), _asOf.AddMinutes(-1));

        // Earlier workers: about half of the children have had none; a few had four or more, more likely the longer open.
        var changes = Pick([0, 1, 2, 3, 4, 5], [0.50, 0.27, 0.12, 0.06, 0.035, 0.015]);
        var spanMinutes = (int)(_asOf - firstAllocation).TotalMinutes;
        changes = Math.Min(changes, spanMinutes / (60 * 24));
        var starts = new List<DateTimeOffset> { firstAllocation };
        foreach (var offset in Enumerable.Range(0, changes).Select(_ => 1 + _random.Next(Math.Max(1, spanMinutes - 1))).Distinct().Order())
        {
            starts.Add(firstAllocation.AddMinutes(offset));
        }

        var workers = new string[starts.Count];
        workers[^1] = worker.Id;
        for (var i = starts.Count - 2; i >= 0; i--)
        {
            workers[i] = PastWorker(members, workers[i + 1], ref departed);
        }

        for (var i = 0; i < starts.Count; i++)
        {
            var reason = i == 0 ? "allocation" : workers[i - 1].StartsWith("W-LEFT-", StringComparison.Ordinal) ? "worker left" : ChangeReasons[_random.Next(ChangeReasons.Length)];
            History.Add(new SyntheticPeriod(childId, workers[i], starts[i], i + 1 < starts.Count ? starts[i + 1] : null, reason));
        }

        Children.Add(new SyntheticChild(childId, team.Id, referred, referred, worker.Id,
            over ? $"HOS-{_random.Next(1, 1 + Math.Max(1, Size.Teams / 20)):D3}" : null, over ? OverrideReason : null));
    }

    private void AddWaitingChild(string childId, SyntheticTeam team, List<SyntheticWorker> members, ref int departed)
    {
        // Waiting since a referral, or back in the queue because their worker left (the clock restarts then).
        var clock = Minute(_asOf.AddHours(-(0.5 + _random.NextDouble() * 25.5)));
        if (_random.NextDouble() < 0.2)
        {
            var from = Minute(clock.AddDays(-(30 + _random.NextDouble() * 300)));
            var referred = Minute(from.AddHours(-_random.NextDouble() * 20));
            History.Add(new SyntheticPeriod(childId, PastWorker(members, null, ref departed), from, clock, "allocation"));
            Children.Add(new SyntheticChild(childId, team.Id, referred, clock, null, null, null));
        }
        else
        {
            Children.Add(new SyntheticChild(childId, team.Id, clock, clock, null, null, null));
        }
    }

    /// <summary>A worker before <paramref name="next"/>: one who has since left (turnover), or another on the team.</summary>
    private string PastWorker(List<SyntheticWorker> members, string? next, ref int departed)
    {
        if (_random.NextDouble() < 0.4 || members.Count < 2)
        {
            return $"W-LEFT-{++departed:D6}";
        }

        string candidate;
        do
        {
            candidate = members[_random.Next(members.Count)].Id;
        }
        while (candidate == next);
        return candidate;
    }

    private T Pick<T>(T[] values, double[] weights)
    {
        var roll = _random.NextDouble() * weights.Sum();
        for (var i = 0; i < values.Length; i++)
        {
            roll -= weights[i];
            if (roll < 0)
            {
                return values[i];
            }
        }

        return values[^1];
    }

    private static DateTimeOffset Minute(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public SyntheticFigures Figures()
    {
        var caseloads = Workers.ToDictionary(w => w.Id, _ => 0, StringComparer.Ordinal);
        foreach (var c in Children)
        {
            if (c.WorkerId is { } w)
            {
                caseloads[w]++;
            }
        }

        var allocated = Children.Count(c => c.WorkerId is not null);
        var yearAgo = _asOf.AddDays(-365);
        var periodsByChild = History.GroupBy(p => p.ChildId).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var withChange = periodsByChild.Values.Count(ps => ps.Select(p => p.WorkerId).Distinct().Count() > 1);
        var overThree = periodsByChild.Values.Count(ps => ps.Where(p => p.To is null || p.To > yearAgo).Select(p => p.WorkerId).Distinct().Count() > 3);
        var waiting = Children.Where(c => c.WorkerId is null).ToList();
        return new SyntheticFigures(
            Teams.Count, Workers.Count, Children.Count, allocated, Children.Count - allocated,
            (double)allocated / Workers.Count, caseloads.Values.Max(),
            100.0 * Workers.Count(w => caseloads[w.Id] <= w.Ceiling) / Workers.Count,
            Workers.Count(w => caseloads[w.Id] > w.Ceiling),
            100.0 * Workers.Count(w => w.Fte < 1) / Workers.Count,
            100.0 * Workers.Count(w => w.Role == WorkerRole.NewlyQualified) / Workers.Count,
            100.0 * (double)(1 - Workers.Sum(w => w.Fte) / Teams.Sum(t => t.EstablishmentFte)),
            History.Count,
            100.0 * withChange / Children.Count,
            100.0 * overThree / Children.Count,
            waiting.Count == 0 ? 0 : 100.0 * waiting.Count(c => _asOf - c.ClockStartedAt > TimeSpan.FromHours(24)) / waiting.Count);
    }

    /// <summary>Writes the four import files (and the establishment, which the import does not read) into <paramref name="folder"/>.</summary>
    public IReadOnlyList<string> WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        foreach (var file in new[] { "teams.csv", "workers.csv", "children.csv", "worker_history.csv", EstablishmentFile })
        {
            var path = Path.Combine(folder, file);
            using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Write(file, stream);
            }

            written.Add(path);
        }

        return written;
    }

    /// <summary>Writes one file: UTF-8 without a byte order mark, CRLF, RFC 4180 quoting, UTC dates to the minute.</summary>
    public void Write(string file, Stream stream)
    {
        using var csv = CsvWriter.Create(stream, new CsvWriterOptions(), leaveOpen: true);
        switch (file)
        {
            case "teams.csv":
                Rows(csv, ["team_id", "name"], Teams.Select(t => new[] { t.Id, t.Name }));
                break;
            case "workers.csv":
                Rows(csv, ["worker_id", "name", "team_id", "role", "fte"],
                    Workers.Select(w => new[] { w.Id, w.Name, w.TeamId, w.Role.ToString(), w.Fte.ToString("0.0##", CultureInfo.InvariantCulture) }));
                break;
            case "children.csv":
                Rows(csv, ["child_id", "team_id", "referred_at", "clock_started_at", "worker_id", "override_by", "override_reason", "family_id"],
                    Children.Select(c => new[] { c.Id, c.TeamId, Date(c.ReferredAt), Date(c.ClockStartedAt), c.WorkerId ?? "", c.OverrideBy ?? "", c.OverrideReason ?? "", c.FamilyId ?? "" }));
                break;
            case "worker_history.csv":
                Rows(csv, ["child_id", "worker_id", "from", "to", "reason"],
                    History.Select(p => new[] { p.ChildId, p.WorkerId, Date(p.From), p.To is { } to ? Date(to) : "", p.Reason }));
                break;
            case EstablishmentFile:
                Rows(csv, ["team_id", "establishment_fte"],
                    Teams.Select(t => new[] { t.Id, t.EstablishmentFte.ToString("0.0", CultureInfo.InvariantCulture) }));
                break;
            default:
                throw new ArgumentException($"No file '{file}'.", nameof(file));
        }
    }

    private static void Rows(CsvWriter csv, string[] header, IEnumerable<string[]> rows)
    {
        csv.WriteHeader(header);
        foreach (var row in rows)
        {
            csv.WriteRecord(row);
        }
    }

    private static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
}
