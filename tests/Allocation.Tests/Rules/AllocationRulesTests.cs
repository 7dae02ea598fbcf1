using Allocation.Grains;
using RuleNames = Allocation.Grains.Rules;
using Allocation.Grains.Children;
using Allocation.Grains.Kpis;

namespace Allocation.Tests.Rules;

public class AllocationRulesTests
{
    private static readonly AllocationOptions Options = new();
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(WorkerRole.SocialWorker, 1.0, 18)]
    [InlineData(WorkerRole.SocialWorker, 0.5, 9)]
    [InlineData(WorkerRole.SocialWorker, 0.8, 14)] // 14.4 rounds down
    [InlineData(WorkerRole.SocialWorker, 0.6, 10)] // 10.8 rounds down
    [InlineData(WorkerRole.NewlyQualified, 1.0, 12)]
    [InlineData(WorkerRole.NewlyQualified, 0.5, 6)]
    [InlineData(WorkerRole.PracticeManager, 1.0, 0)]
    public void Ceiling_is_the_role_ceiling_pro_rata_rounded_down(WorkerRole role, double fte, int expected) =>
        Assert.Equal(expected, AllocationRules.Ceiling(role, (decimal)fte, null, Options));

    [Fact]
    public void Explicit_ceiling_wins_over_role_and_fte() =>
        Assert.Equal(5, AllocationRules.Ceiling(WorkerRole.PracticeManager, 0.5m, 5, Options));

    [Fact]
    public void Ceilings_follow_the_authority_configuration()
    {
        var options = new AllocationOptions();
        options.RoleCeilings[WorkerRole.SocialWorker] = 15;
        Assert.Equal(7, AllocationRules.Ceiling(WorkerRole.SocialWorker, 0.5m, null, options));
    }

    [Fact]
    public void Allocation_under_ceiling_is_allowed() => Assert.Null(AllocationRules.CheckCapacity(17, 18, null, Options));

    [Fact]
    public void Allocation_over_ceiling_is_refused_with_numbers()
    {
        var refusal = AllocationRules.CheckCapacity(18, 18, null, Options);
        Assert.NotNull(refusal);
        Assert.Equal(RefusalKind.Conflict, refusal.Kind);
        Assert.Equal(RuleNames.Ceiling, refusal.Rule);
        Assert.Equal(18m, refusal.Figures!["current"]);
        Assert.Equal(18m, refusal.Figures["ceiling"]);
        Assert.Contains("18", refusal.Detail);
    }

    [Fact]
    public void Override_above_ceiling_needs_a_user_and_a_reason()
    {
        Assert.Null(AllocationRules.CheckCapacity(18, 18, new CeilingOverride("hos-1", "sibling group"), Options));
        Assert.Equal(RuleNames.OverrideIncomplete, AllocationRules.CheckCapacity(18, 18, new CeilingOverride("hos-1", " "), Options)!.Rule);
        Assert.Equal(RuleNames.OverrideIncomplete, AllocationRules.CheckCapacity(18, 18, new CeilingOverride("", "reason"), Options)!.Rule);
    }

    [Fact]
    public void Override_is_refused_where_the_authority_does_not_allow_it()
    {
        var strict = new AllocationOptions { AllowCeilingOverride = false };
        Assert.Equal(RuleNames.OverrideNotAllowed, AllocationRules.CheckCapacity(18, 18, new CeilingOverride("hos-1", "why"), strict)!.Rule);
    }

    [Theory]
    [InlineData(20 * 60, ClockStatus.Green)]
    [InlineData(8 * 60 + 1, ClockStatus.Green)]
    [InlineData(8 * 60, ClockStatus.Amber)]
    [InlineData(1, ClockStatus.Amber)]
    [InlineData(0, ClockStatus.Red)]
    [InlineData(-5, ClockStatus.Red)]
    public void Clock_is_green_then_amber_at_eight_hours_then_red(int minutesLeft, ClockStatus expected)
    {
        Assert.Equal(expected, AllocationRules.Clock(Now.AddMinutes(minutesLeft), Now, TimeSpan.FromHours(8)));
    }

    [Fact]
    public void Distinct_workers_count_periods_touching_the_last_twelve_months()
    {
        var history = new[]
        {
            Period("w-old", Now.AddDays(-500), Now.AddDays(-400)), // ended before the window
            Period("w-a", Now.AddDays(-380), Now.AddDays(-300)),   // overlaps the window's start
            Period("w-b", Now.AddDays(-300), Now.AddDays(-100)),
            Period("w-a", Now.AddDays(-100), Now.AddDays(-50)),    // same worker again counts once
            Period("w-c", Now.AddDays(-50), null),
        };
        Assert.Equal(3, AllocationRules.DistinctWorkers(history, Now, TimeSpan.FromDays(365)));
    }

    [Fact]
    public void More_than_three_workers_is_flagged()
    {
        Assert.False(AllocationRules.IsFlagged(3, Options));
        Assert.True(AllocationRules.IsFlagged(4, Options));
    }

    [Fact]
    public void First_allocation_and_return_to_the_same_worker_are_not_changes()
    {
        Assert.False(AllocationRules.IsWorkerChange(null, "w1"));
        Assert.False(AllocationRules.IsWorkerChange("w1", "w1"));
        Assert.True(AllocationRules.IsWorkerChange("w1", "w2"));
    }

    [Fact]
    public void Absence_applies_from_its_start_until_its_end()
    {
        var absences = new[] { new Absence(Now, Now.AddDays(10), "leave") };
        Assert.Null(AllocationRules.AbsenceAt(absences, Now.AddMinutes(-1)));
        Assert.NotNull(AllocationRules.AbsenceAt(absences, Now));
        Assert.NotNull(AllocationRules.AbsenceAt(absences, Now.AddDays(9)));
        Assert.Null(AllocationRules.AbsenceAt(absences, Now.AddDays(10)));
        Assert.NotNull(AllocationRules.AbsenceAt([new Absence(Now, null, "open-ended")], Now.AddYears(1)));
    }

    [Theory]
    [InlineData(85.0, null, null, Rag.Green)]
    [InlineData(84.9, null, null, Rag.Amber)]
    [InlineData(80.0, null, null, Rag.Amber)] // within the report's 5-point margin
    [InlineData(79.9, null, null, Rag.Red)]
    [InlineData(89.0, 90.0, 2.0, Rag.Amber)] // the authority's own target and margin
    [InlineData(87.9, 90.0, 2.0, Rag.Red)]
    public void The_caseload_share_is_coloured_as_the_nightly_report_colours_it(double percent, double? target, double? margin, Rag expected)
    {
        var own = target is null ? null : new KpiTarget { Target = (decimal)target, AmberMargin = (decimal?)margin };
        Assert.Equal(expected, AllocationRules.CaseloadShareRag((decimal)percent, own));
        var report = ThresholdChecks.Evaluate(
            new TeamMeasures(new Dictionary<string, Tally> { [KpiCatalog.CaseloadsAtOrUnderCeiling] = new((decimal)percent * 10, 1000, []) }),
            own is null ? null : new Dictionary<string, KpiTarget> { [KpiCatalog.CaseloadsAtOrUnderCeiling] = own }, null);
        Assert.Equal(expected, report.Single(k => k.Id == KpiCatalog.CaseloadsAtOrUnderCeiling).Rag);
    }

    private static WorkerPeriod Period(string worker, DateTimeOffset from, DateTimeOffset? to) => new(worker, "t", from, to, "allocation");
}
