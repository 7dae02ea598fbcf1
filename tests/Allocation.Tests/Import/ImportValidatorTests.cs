using System.Text;
using Allocation.Grains;
using Allocation.Service.Import;

namespace Allocation.Tests.Import;

public class ImportValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private const string Teams = "team_id,name\nT1,Assessment North\nT2,Children in Care\n";
    private const string Workers = "worker_id,name,team_id,role,fte,ceiling\nW1,Ann,T1,SocialWorker,1.0,\nW2,Ben,T1,NewlyQualified,0.5,\nW3,Cal,T2,SocialWorker,1.0,2\n";
    private const string Children = "child_id,team_id,referred_at,clock_started_at,worker_id\nC1,T1,2026-01-05,2026-01-05T09:00:00Z,W1\nC2,T1,2026-11-01,2026-11-01T09:00:00Z,\n";
    private const string History = "child_id,worker_id,from,to,reason\nC1,W2,2026-01-06,2026-03-01,allocation\nC1,W1,2026-03-01,,Caseload rebalanced\n";

    [Fact]
    public void Valid_files_produce_a_load_with_the_current_allocation_and_history()
    {
        var result = Validate();

        Assert.True(result.Valid, string.Join("; ", result.Problems));
        var load = result.Load!;
        Assert.Equal(2, load.Teams.Count);
        Assert.Equal(3, load.Workers.Count);
        Assert.Equal(WorkerRole.NewlyQualified, load.Workers.Single(w => w.Id == "W2").Worker.Role);
        Assert.Equal(2, load.Workers.Single(w => w.Id == "W3").Worker.Ceiling);
        var c1 = load.Children.Single(c => c.Id == "C1").Child;
        Assert.Equal(["W2", "W1"], c1.History.Select(p => p.WorkerId));
        Assert.Null(c1.History[^1].To);
        Assert.Empty(load.Children.Single(c => c.Id == "C2").Child.History);
    }

    [Fact]
    public void A_current_worker_without_an_open_period_is_allocated_from_the_clock_start()
    {
        var result = Validate(history: "child_id,worker_id,from,to,reason\n");

        var period = Assert.Single(result.Load!.Children.Single(c => c.Id == "C1").Child.History);
        Assert.Equal(("W1", new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero), (DateTimeOffset?)null), (period.WorkerId, period.From, period.To));
    }

    [Fact]
    public void Quoted_fields_follow_rfc_4180()
    {
        var result = Validate(teams: "team_id,name\nT1,\"Assessment, North \"\"A\"\"\"\nT2,\"Two\nLines\"\n");

        Assert.True(result.Valid, string.Join("; ", result.Problems));
        Assert.Equal("Assessment, North \"A\"", result.Load!.Teams[0].Name);
        Assert.Equal("Two\nLines", result.Load.Teams[1].Name);
    }

    [Theory]
    [InlineData("bad id!", "worker_id")]
    [InlineData("", "worker_id")]
    public void Bad_ids_are_rejected_with_their_line_and_column(string id, string column)
    {
        var result = Validate(workers: Workers + $"{id},Dee,T1,SocialWorker,1.0,\n");

        var problem = Assert.Single(result.Problems);
        Assert.Equal((AuthorityCsv.WorkersFile, 5, column), (problem.File, problem.Line, problem.Column));
        Assert.Null(result.Load);
    }

    [Fact]
    public void Every_field_rule_is_reported_on_its_own_line()
    {
        var result = Validate(
            workers: Workers + "W4,Dee,T1,Wizard,1.0,\nW5,Eve,T1,SocialWorker,0,\nW6,Fay,T1,SocialWorker,1.5,\nW7,Gil,T1,SocialWorker,1.0,x\n",
            children: Children + "C3,T1,05/01/2026,2026-01-05,\nC4,T1,2026-01-05,not-a-date,\n");

        Assert.Equal(
            [
                (AuthorityCsv.WorkersFile, 5, "role"), (AuthorityCsv.WorkersFile, 6, "fte"), (AuthorityCsv.WorkersFile, 7, "fte"),
                (AuthorityCsv.WorkersFile, 8, "ceiling"), (AuthorityCsv.ChildrenFile, 4, "referred_at"), (AuthorityCsv.ChildrenFile, 5, "clock_started_at"),
            ],
            result.Problems.Select(p => (p.File, p.Line, p.Column)));
    }

    [Fact]
    public void Unknown_references_and_duplicates_are_rejected()
    {
        var result = Validate(
            teams: Teams + "T1,Again\n",
            workers: Workers + "W9,Ida,T-NOWHERE,SocialWorker,1.0,\n",
            children: Children + "C1,T1,2026-01-05,2026-01-05,\nC5,T1,2026-01-05,2026-01-05,W-GHOST\nC6,T1,2026-01-05,2026-01-05,W3\n",
            history: History + "C-NOBODY,W1,2026-01-01,2026-01-02,x\n");

        Assert.Equal(
            [
                (AuthorityCsv.TeamsFile, 4, "team_id"), (AuthorityCsv.WorkersFile, 5, "team_id"), (AuthorityCsv.ChildrenFile, 4, "child_id"),
                (AuthorityCsv.ChildrenFile, 5, "worker_id"), (AuthorityCsv.ChildrenFile, 6, "worker_id"), (AuthorityCsv.HistoryFile, 4, "child_id"),
            ],
            result.Problems.Select(p => (p.File, p.Line, p.Column)));
        Assert.Contains("is in team 'T2', not 'T1'", result.Problems.Single(p => p.Line == 6 && p.File == AuthorityCsv.ChildrenFile).Reason);
    }

    [Fact]
    public void A_past_period_may_name_a_worker_who_has_left_but_the_current_one_must_be_known()
    {
        var result = Validate(history: "child_id,worker_id,from,to,reason\nC1,W-FORMER,2026-01-06,2026-03-01,allocation\nC1,W1,2026-03-01,,moved\nC2,W-GONE,2026-11-01,,x\n");

        Assert.Equal([(4, "worker_id"), (4, "worker_id")], result.Problems.Select(p => (p.Line, p.Column)));
        Assert.Contains(result.Problems, p => p.Reason.Contains("Unknown worker 'W-GONE'", StringComparison.Ordinal));
    }

    [Fact]
    public void Referenced_teams_and_workers_may_already_be_in_the_authority()
    {
        var existing = new ExistingAuthority(new HashSet<string> { "T-OLD" },
            new Dictionary<string, ExistingWorker> { ["W-OLD"] = new("T-OLD", 0, 18) }, new HashSet<string>());

        var result = Validate(teams: "team_id,name\n", workers: "worker_id,name,team_id,role,fte\n",
            children: "child_id,team_id,referred_at,clock_started_at,worker_id\nC1,T-OLD,2026-01-05,2026-01-05,W-OLD\n",
            history: "child_id,worker_id,from,to,reason\n", existing: existing);

        Assert.True(result.Valid, string.Join("; ", result.Problems));
    }

    [Fact]
    public void Children_that_already_exist_are_rejected()
    {
        var existing = new ExistingAuthority(new HashSet<string>(), new Dictionary<string, ExistingWorker>(), new HashSet<string> { "C2" });

        var problem = Assert.Single(Validate(existing: existing).Problems);

        Assert.Equal((AuthorityCsv.ChildrenFile, 3, "child_id"), (problem.File, problem.Line, problem.Column));
        Assert.Contains("already exists", problem.Reason);
    }

    [Fact]
    public void History_periods_must_be_ordered_and_not_overlap()
    {
        var result = Validate(history: "child_id,worker_id,from,to,reason\n" +
            "C1,W2,2026-01-06,2026-03-01,a\n" +
            "C1,W3,2026-02-01,2026-02-10,b\n" +
            "C1,W2,2026-04-01,2026-03-15,c\n" +
            "C1,W1,2026-03-01,,d\n" +
            "C2,W1,2026-11-02,,e\n");

        Assert.Equal(
            [(3, "from"), (4, "to"), (6, "worker_id")],
            result.Problems.Select(p => (p.Line, p.Column)));
    }

    [Fact]
    public void The_open_period_must_be_the_last_and_name_the_current_worker()
    {
        var result = Validate(history: "child_id,worker_id,from,to,reason\nC1,W2,2026-01-06,,a\nC1,W1,2026-03-01,,b\n");

        Assert.Equal([(2, "worker_id"), (3, "from")], result.Problems.Select(p => (p.Line, p.Column)));
    }

    [Fact]
    public void An_allocation_over_the_ceiling_is_rejected_unless_the_row_marks_the_override()
    {
        // W3 has an explicit ceiling of 2: the third child is over it.
        var children = "child_id,team_id,referred_at,clock_started_at,worker_id,override_by,override_reason\n" +
            "C1,T2,2026-01-05,2026-01-05,W3,,\nC2,T2,2026-01-05,2026-01-05,W3,,\nC3,T2,2026-01-05,2026-01-05,W3,,\nC4,T2,2026-01-05,2026-01-05,W3,HOS-01,Sibling group\n";

        var result = Validate(children: children, history: "child_id,worker_id,from,to,reason\n");

        var problem = Assert.Single(result.Problems);
        Assert.Equal((AuthorityCsv.ChildrenFile, 4, "worker_id"), (problem.File, problem.Line, problem.Column));
        Assert.Contains("ceiling of 2", problem.Reason);
    }

    [Fact]
    public void An_existing_caseload_counts_towards_the_ceiling()
    {
        var existing = new ExistingAuthority(new HashSet<string> { "T1" },
            new Dictionary<string, ExistingWorker> { ["W-OLD"] = new("T1", 18, 18) }, new HashSet<string>());

        var result = Validate(children: "child_id,team_id,referred_at,clock_started_at,worker_id\nC1,T1,2026-01-05,2026-01-05,W-OLD\n",
            history: "child_id,worker_id,from,to,reason\n", existing: existing);

        var problem = Assert.Single(result.Problems);
        Assert.Equal((2, "worker_id"), (problem.Line, problem.Column));
        Assert.Contains("currently 18", problem.Reason);
    }

    [Fact]
    public void A_missing_header_or_column_is_rejected_on_line_one()
    {
        var result = Validate(teams: "T1,Assessment\n", workers: "worker_id,name,team_id,fte\nW1,Ann,T1,1.0\n");

        Assert.Contains(result.Problems, p => p is { File: AuthorityCsv.TeamsFile, Line: 1 });
        Assert.Contains(result.Problems, p => p is { File: AuthorityCsv.WorkersFile, Line: 1, Column: "role" });
        Assert.Null(result.Load);
    }

    [Fact]
    public void A_row_with_the_wrong_number_of_fields_is_rejected()
    {
        var problem = Assert.Single(Validate(teams: Teams + "T3\n").Problems);

        Assert.Equal((AuthorityCsv.TeamsFile, 4, (string?)null), (problem.File, problem.Line, problem.Column));
    }

    internal static ImportValidation Validate(
        string teams = Teams, string workers = Workers, string children = Children, string history = History, ExistingAuthority? existing = null)
    {
        var files = Read(teams, workers, children, history);
        return ImportValidator.Validate(files, existing ?? ExistingAuthority.Empty, new AllocationOptions(), Now);
    }

    internal static AuthorityFiles Read(string teams, string workers, string children, string history)
    {
        var files = new AuthorityFiles();
        AuthorityCsv.ReadTeams(Stream(teams), files);
        AuthorityCsv.ReadWorkers(Stream(workers), files);
        AuthorityCsv.ReadChildren(Stream(children), files);
        AuthorityCsv.ReadHistory(Stream(history), files);
        return files;
    }

    private static MemoryStream Stream(string text) => new(Encoding.UTF8.GetBytes(text));
}
