using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Allocation.Grains;
using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;
using Allocation.Service.Audit;
using Allocation.Service.Import;
using Allocation.Service.Seeding;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Api;

public static partial class ImportApi
{
    public sealed record ImportCounts(int Teams, int Workers, int Children, int HistoryPeriods, long Milliseconds);

    // Validation reads the authority and then writes to it; two imports at once on this host would each validate
    // against a state the other is changing.
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static IEndpointRouteBuilder MapImportApi(this IEndpointRouteBuilder app)
    {
        // Whole-authority data: administrators only.
        var api = app.MapGroup("/api").WithTags("Import and export").RequireAuthorization(Security.Policies.Administrators);

        api.MapPost("/import", async Task<Results<Ok<ImportCounts>, ProblemHttpResult>> (
            IFormFileCollection files, IGrainFactory grains, IOptions<AllocationOptions> options,
            [FromKeyedServices(AllocationClock.Key)] TimeProvider time, ILoggerFactory loggers, ImportProgress progress, CancellationToken cancellationToken) =>
        {
            var logger = loggers.CreateLogger(typeof(ImportApi));
            var read = new AuthorityFiles();
            foreach (var file in files)
            {
                var name = FileNameOf(file);
                if (name is null)
                {
                    return Problems.Invalid("files", $"Unexpected file '{file.FileName}'; send {string.Join(", ", AuthorityCsv.Files)}.");
                }

                await using var stream = file.OpenReadStream();
                Action<Stream, AuthorityFiles> reader = name switch
                {
                    AuthorityCsv.TeamsFile => AuthorityCsv.ReadTeams,
                    AuthorityCsv.WorkersFile => AuthorityCsv.ReadWorkers,
                    AuthorityCsv.ChildrenFile => AuthorityCsv.ReadChildren,
                    _ => AuthorityCsv.ReadHistory,
                };
                reader(stream, read);
            }

            await Gate.WaitAsync(cancellationToken);
            try
            {
                var elapsed = Stopwatch.StartNew();
                progress.Begin("validating", read.Teams.Count + read.Workers.Count + read.Children.Count);
                var existing = await ExistingAsync(grains, read, cancellationToken);
                var validation = ImportValidator.Validate(read, existing, options.Value, time.GetUtcNow());
                if (validation.Load is not { } load)
                {
                    LogRejected(logger, validation.Problems.Count);
                    return TypedResults.Problem(
                        $"{validation.Problems.Count} problem(s) found; nothing was imported.",
                        statusCode: StatusCodes.Status400BadRequest, title: "Import rejected",
                        extensions: new Dictionary<string, object?> { ["rule"] = "import-rejected", ["errors"] = validation.Problems });
                }

                try
                {
                    await AuthorityLoader.LoadAsync(grains, load, cancellationToken, progress);
                }
                catch (InvalidDataException e)
                {
                    LogInterrupted(logger);
                    return TypedResults.Problem($"The import stopped part way: {e.Message}", statusCode: StatusCodes.Status409Conflict,
                        title: "Import interrupted", extensions: new Dictionary<string, object?> { ["rule"] = "import-interrupted" });
                }

                var counts = new ImportCounts(load.Teams.Count, load.Workers.Count, load.Children.Count,
                    load.Children.Sum(c => c.Child.History.Count), elapsed.ElapsedMilliseconds);
                LogImported(logger, counts.Teams, counts.Workers, counts.Children, counts.Milliseconds);
                return TypedResults.Ok(counts);
            }
            finally
            {
                progress.End();
                Gate.Release();
            }
        })
        .DisableAntiforgery()
        .Audited("authority.import")
        .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(AuthorityCsv.MaxImportBytes))
        .WithFormOptions(multipartBodyLengthLimit: AuthorityCsv.MaxImportBytes)
        .WithSummary("Loads teams, workers and children (with worker history) from CSV files; all or nothing.");

        api.MapGet("/import/progress", (ImportProgress progress) => TypedResults.Ok(progress.Current))
            .WithSummary("Where this host's running import has got to: phase (validating, teams, workers, children or idle), done and total.");

        api.MapGet("/export/{file}", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (string file, IGrainFactory grains) =>
        {
            var writer = new StringWriter { NewLine = "\r\n" };
            switch (file)
            {
                case AuthorityCsv.TeamsFile:
                    AuthorityCsv.Write(writer, AuthorityCsv.TeamColumns, (await Teams(grains)).Select(t => new[] { t.Id, t.Name }));
                    break;
                case AuthorityCsv.WorkersFile:
                    AuthorityCsv.Write(writer, AuthorityCsv.WorkerColumns, (await Workers(grains)).Select(w => new[]
                    {
                        w.Id, w.Name, w.TeamId, w.Role.ToString(), AuthorityCsv.FormatFte(w.Fte), w.ExplicitCeiling?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    }));
                    break;
                case AuthorityCsv.ChildrenFile:
                    AuthorityCsv.Write(writer, AuthorityCsv.ChildColumns, (await Children(grains)).Select(c =>
                    {
                        var current = c.WorkerHistory.LastOrDefault(p => p.To is null);
                        return new[]
                        {
                            c.Id, c.TeamId, AuthorityCsv.FormatDate(c.ReferredAt), AuthorityCsv.FormatDate(c.Clock?.StartedAt ?? c.ReferredAt),
                            c.WorkerId, current?.Override?.By, current?.Override?.Reason, c.FamilyId,
                        };
                    }));
                    break;
                case AuthorityCsv.HistoryFile:
                    AuthorityCsv.Write(writer, AuthorityCsv.HistoryColumns, (await Children(grains)).SelectMany(c => c.WorkerHistory.Select(p => new[]
                    {
                        c.Id, p.WorkerId, AuthorityCsv.FormatDate(p.From), p.To is { } to ? AuthorityCsv.FormatDate(to) : null, p.Reason,
                    })));
                    break;
                default:
                    return Problems.NotFound("export", file);
            }

            return TypedResults.File(Encoding.UTF8.GetBytes(writer.ToString()), "text/csv; charset=utf-8", file);
        })
        .WithSummary("Exports teams.csv, workers.csv, children.csv or worker_history.csv in the import format.");

        return app;
    }

    private static string? FileNameOf(IFormFile file)
    {
        foreach (var candidate in new[] { Path.GetFileName(file.FileName), file.Name, file.Name + ".csv" })
        {
            if (AuthorityCsv.Files.FirstOrDefault(f => string.Equals(f, candidate, StringComparison.OrdinalIgnoreCase)) is { } name)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>What the authority already holds of the ids the files mention, read without activating unknown grains.</summary>
    private static async Task<ExistingAuthority> ExistingAsync(IGrainFactory grains, AuthorityFiles files, CancellationToken cancellationToken)
    {
        var teams = (await Teams(grains)).Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var workerIds = files.DeclaredWorkers.Concat(files.Children.Select(c => c.WorkerId).OfType<string>())
            .Concat(files.History.Select(h => h.WorkerId)).ToHashSet(StringComparer.Ordinal);
        var workers = new ConcurrentDictionary<string, ExistingWorker>(StringComparer.Ordinal);
        var children = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(workerIds, parallel, async (id, _) =>
        {
            if (await Known.Worker(grains, id) && await grains.GetGrain<ISocialWorkerGrain>(id).Get() is { } w)
            {
                workers[id] = new ExistingWorker(w.TeamId, w.CaseloadCount, w.Ceiling);
            }
        });
        await Parallel.ForEachAsync(files.DeclaredChildren, parallel, async (id, _) =>
        {
            if (await Known.Child(grains, id))
            {
                children[id] = true;
            }
        });
        return new ExistingAuthority(teams, workers, children.Keys.ToHashSet(StringComparer.Ordinal));
    }

    private static async Task<IReadOnlyList<TeamInfo>> Teams(IGrainFactory grains) =>
        await grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key).ListTeams();

    private static async Task<IReadOnlyList<WorkerView>> Workers(IGrainFactory grains)
    {
        var boards = await Task.WhenAll((await Teams(grains)).Select(t => grains.GetGrain<ITeamGrain>(t.Id).GetBoard()));
        var ids = boards.SelectMany(b => b.Workers.Select(w => w.WorkerId)).Distinct().ToList();
        return (await Task.WhenAll(ids.Select(id => grains.GetGrain<ISocialWorkerGrain>(id).Get()))).OfType<WorkerView>().ToList();
    }

    private static async Task<IReadOnlyList<ChildView>> Children(IGrainFactory grains)
    {
        var boards = await Task.WhenAll((await Teams(grains)).Select(t => grains.GetGrain<ITeamGrain>(t.Id).GetBoard()));
        var ids = boards.SelectMany(b => b.Workers.SelectMany(w => w.Children).Concat(b.Unallocated.Select(u => u.ChildId))).Distinct().ToList();
        var children = new ConcurrentBag<ChildView>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
        {
            if (await grains.GetGrain<IChildGrain>(id).Get() is { Status: not ChildStatus.Closed } child)
            {
                children.Add(child);
            }
        });
        return children.OrderBy(c => c.TeamId, StringComparer.Ordinal).ThenBy(c => c.Id, StringComparer.Ordinal).ToList();
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Bulk import: {Teams} teams, {Workers} workers, {Children} children in {Milliseconds} ms")]
    private static partial void LogImported(ILogger logger, int teams, int workers, int children, long milliseconds);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Bulk import rejected with {Problems} problem(s); nothing imported")]
    private static partial void LogRejected(ILogger logger, int problems);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Bulk import interrupted: a grain refused a row that had passed validation")]
    private static partial void LogInterrupted(ILogger logger);
}
