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
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Allocation.Service.Api;

public static partial class ImportApi
{
    public sealed record ImportCounts(int Teams, int Workers, int Children, int HistoryPeriods, long Milliseconds);

    // Validation reads the authority and then writes to it; two imports at once on this host would each validate
    // against a state the other is changing. Taken before the request body is read, so imports waiting their turn
    // hold nothing parsed.
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The most rejected rows named in one answer; the rest are counted (<c>errorsNotShown</c>).</summary>
    public const int MaxErrorsShown = 1000;

    public static IEndpointRouteBuilder MapImportApi(this IEndpointRouteBuilder app)
    {
        // Whole-authority data: administrators only.
        var api = app.MapGroup("/api").WithTags("Import and export").RequireAuthorization(Security.Policies.Administrators);

        api.MapPost("/import", async Task<Results<Ok<ImportCounts>, ProblemHttpResult>> (
            HttpRequest request, IGrainFactory grains, IOptions<AllocationOptions> options,
            [FromKeyedServices(AllocationClock.Key)] TimeProvider time, ILoggerFactory loggers, ImportProgress progress, CancellationToken cancellationToken) =>
        {
            var logger = loggers.CreateLogger(typeof(ImportApi));
            await Gate.WaitAsync(cancellationToken);
            try
            {
                var elapsed = Stopwatch.StartNew();
                var read = new AuthorityFiles();
                if (await ReadFilesAsync(request, read, cancellationToken) is { } unreadable)
                {
                    return unreadable;
                }

                progress.Begin("validating", read.Teams.Count + read.Workers.Count + read.Children.Count);
                var existing = await ExistingAsync(grains, read, cancellationToken);
                var validation = ImportValidator.Validate(read, existing, options.Value, time.GetUtcNow());
                if (validation.Load is not { } load)
                {
                    LogRejected(logger, validation.Problems.Count);
                    return TypedResults.Problem(
                        $"{validation.Problems.Count} problem(s) found; nothing was imported.",
                        statusCode: StatusCodes.Status400BadRequest, title: "Import rejected",
                        extensions: new Dictionary<string, object?>
                        {
                            ["rule"] = "import-rejected",
                            ["errors"] = validation.Problems.Take(MaxErrorsShown).ToList(),
                            ["errorsNotShown"] = Math.Max(0, validation.Problems.Count - MaxErrorsShown),
                        });
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
        .Accepts<IFormFileCollection>("multipart/form-data")
        .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(AuthorityCsv.MaxImportBytes))
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
                        w.Supervisions is { Count: > 0 } supervised ? string.Join(';', supervised.Select(d => AuthorityCsv.FormatDay(d))) : null,
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
                        }.Concat(AuthorityCsv.CaseRecordFields(c.CaseRecord)).ToArray();
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

    /// <summary>Reads each file of the multipart body in turn as it arrives (spilling to a temporary file past 1 MB, since
    /// the CSV reader is synchronous), or says why the body is not the files expected.</summary>
    private static async Task<ProblemHttpResult?> ReadFilesAsync(HttpRequest request, AuthorityFiles into, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !"multipart/form-data".Equals(type.MediaType.Value, StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            return Problems.Invalid("files", $"Send the files as multipart/form-data: {string.Join(", ", AuthorityCsv.Files)}.");
        }

        var reader = new MultipartReader(boundary, request.Body);
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
            {
                continue;
            }

            var fileName = disposition.FileNameStar.Value ?? disposition.FileName.Value ?? "";
            if (FileNameOf(fileName, disposition.Name.Value ?? "") is not { } name)
            {
                return Problems.Invalid("files", $"Unexpected file '{fileName}'; send {string.Join(", ", AuthorityCsv.Files)}.");
            }

            await using var buffered = new FileBufferingReadStream(section.Body, memoryThreshold: 1 << 20);
            await buffered.DrainAsync(cancellationToken);
            buffered.Position = 0;
            Action<Stream, AuthorityFiles> read = name switch
            {
                AuthorityCsv.TeamsFile => AuthorityCsv.ReadTeams,
                AuthorityCsv.WorkersFile => AuthorityCsv.ReadWorkers,
                AuthorityCsv.ChildrenFile => AuthorityCsv.ReadChildren,
                _ => AuthorityCsv.ReadHistory,
            };
            read(buffered, into);
        }

        return null;
    }

    private static string? FileNameOf(string fileName, string fieldName)
    {
        foreach (var candidate in new[] { Path.GetFileName(fileName), fieldName, fieldName + ".csv" })
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
            .Concat(files.Children.Select(c => c.Override?.By).OfType<string>())
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
