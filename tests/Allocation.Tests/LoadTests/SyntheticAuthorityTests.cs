using Allocation.Grains;
using Allocation.LoadTests;
using Allocation.Service.Import;

namespace Allocation.Tests.LoadTests;

public class SyntheticAuthorityTests
{
    private static readonly DateTimeOffset AsOf = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] ImportFiles = [AuthorityCsv.TeamsFile, AuthorityCsv.WorkersFile, AuthorityCsv.ChildrenFile, AuthorityCsv.HistoryFile];

    [Fact]
    public void The_same_seed_gives_byte_identical_files()
    {
        var first = Bytes(SyntheticAuthority.Generate(SyntheticSize.Large, 42, AsOf));
        var second = Bytes(SyntheticAuthority.Generate(SyntheticSize.Large, 42, AsOf));
        var other = Bytes(SyntheticAuthority.Generate(SyntheticSize.Large, 43, AsOf));

        foreach (var file in first.Keys)
        {
            Assert.Equal(first[file], second[file]);
        }

        Assert.NotEqual(first[AuthorityCsv.ChildrenFile], other[AuthorityCsv.ChildrenFile]);
    }

    [Fact]
    public void A_large_authority_passes_the_import_validator()
    {
        var authority = SyntheticAuthority.Generate(SyntheticSize.Large, 42, AsOf);
        var files = Read(authority);

        var validation = ImportValidator.Validate(files, ExistingAuthority.Empty, new AllocationOptions(), AsOf.AddHours(1));

        Assert.Empty(validation.Problems);
        Assert.Equal((60, 600, 10_000), (validation.Load!.Teams.Count, validation.Load.Workers.Count, validation.Load.Children.Count));
        // The children over a ceiling go in with their override, as the validator requires.
        Assert.Contains(validation.Load.Children, c => c.Child.Override is not null);
    }

    [Fact]
    public void Over_ceiling_rows_without_their_override_are_refused()
    {
        var authority = SyntheticAuthority.Generate(SyntheticSize.Large, 42, AsOf);
        var overridden = authority.Children.Count(c => c.OverrideBy is not null);
        for (var i = 0; i < authority.Children.Count; i++)
        {
            authority.Children[i] = authority.Children[i] with { OverrideBy = null, OverrideReason = null };
        }

        var validation = ImportValidator.Validate(Read(authority), ExistingAuthority.Empty, new AllocationOptions(), AsOf.AddHours(1));

        Assert.Equal(overridden, validation.Problems.Count(p => p.Column == "worker_id"));
    }

    [Fact]
    public void A_large_authority_looks_like_one()
    {
        var f = SyntheticAuthority.Generate(SyntheticSize.Large, 42, AsOf).Figures();

        Assert.Equal((60, 600, 10_000), (f.Teams, f.Workers, f.Children));
        Assert.InRange(f.AverageCaseload, 15.0, 17.5);
        Assert.InRange(f.CaseloadsAtOrUnderCeilingPercent, 85.0, 99.0);
        Assert.InRange(f.WorkersOverCeiling, 1, 60);
        Assert.InRange(f.MaxCaseload, 19, 21);
        Assert.InRange(f.PartTimePercent, 10.0, 25.0);
        Assert.InRange(f.NewlyQualifiedPercent, 7.0, 16.0);
        Assert.InRange(f.VacancyPercent, 16.0, 22.0);
        Assert.InRange(f.Unallocated, 100, 400);
        Assert.InRange(f.ChildrenWithAChangePercent, 30.0, 65.0);
        Assert.InRange(f.ChildrenOverThreeWorkersPercent, 2.0, 12.0);
    }

    [Fact]
    public void A_national_authority_has_the_national_counts()
    {
        var authority = SyntheticAuthority.Generate(SyntheticSize.National, 42, AsOf);
        var f = authority.Figures();

        Assert.Equal((2_500, 33_000, 400_000), (f.Teams, f.Workers, f.Children));
        // 390,000 allocated children over 33,000 workers: about 12 each, as the national figures imply.
        Assert.InRange(f.AverageCaseload, 11.0, 13.0);
        Assert.InRange(f.VacancyPercent, 17.0, 21.0);
        Assert.InRange(f.CaseloadsAtOrUnderCeilingPercent, 90.0, 99.0);
        Assert.All(authority.Teams.GroupJoin(authority.Workers, t => t.Id, w => w.TeamId, (t, ws) => ws.Count()), n => Assert.InRange(n, 8, 16));
        Assert.True(authority.Children.Select(c => c.Id).Distinct().Count() == 400_000);
    }

    [Fact]
    public void No_date_is_after_the_as_of_day()
    {
        var authority = SyntheticAuthority.Generate(SyntheticSize.Large, 7, AsOf);

        Assert.All(authority.Children, c => Assert.True(c.ReferredAt <= c.ClockStartedAt && c.ClockStartedAt < AsOf));
        Assert.All(authority.History, p => Assert.True(p.From < AsOf && (p.To is null || (p.To > p.From && p.To <= AsOf))));
    }

    private static Dictionary<string, byte[]> Bytes(SyntheticAuthority authority) =>
        ImportFiles.Append(SyntheticAuthority.EstablishmentFile).ToDictionary(f => f, f =>
        {
            using var stream = new MemoryStream();
            authority.Write(f, stream);
            return stream.ToArray();
        });

    private static AuthorityFiles Read(SyntheticAuthority authority)
    {
        var files = new AuthorityFiles();
        foreach (var (name, bytes) in Bytes(authority).Where(b => ImportFiles.Contains(b.Key)))
        {
            using var stream = new MemoryStream(bytes);
            Action<Stream, AuthorityFiles> read = name switch
            {
                AuthorityCsv.TeamsFile => AuthorityCsv.ReadTeams,
                AuthorityCsv.WorkersFile => AuthorityCsv.ReadWorkers,
                AuthorityCsv.ChildrenFile => AuthorityCsv.ReadChildren,
                _ => AuthorityCsv.ReadHistory,
            };
            read(stream, files);
        }

        return files;
    }
}
