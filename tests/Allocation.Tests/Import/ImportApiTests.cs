using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Allocation.Service.Api;
using Allocation.Service.Import;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Import;

[Collection(AppCollection.Name)]
public class ImportApiTests(AppFactory factory)
{
    private readonly HttpClient _http = factory.CreateClient();
    private readonly string _p = Guid.NewGuid().ToString("N")[..8];

    private Dictionary<string, string> Files() => new()
    {
        [AuthorityCsv.TeamsFile] = $"team_id,name\n{_p}-T1,\"Assessment, North\"\n{_p}-T2,Children in Care\n",
        [AuthorityCsv.WorkersFile] = "worker_id,name,team_id,role,fte,ceiling,supervisions\n" +
            $"{_p}-W1,Ann Able,{_p}-T1,SocialWorker,1.0,,{Month(-2)};{Month(-1)}\n{_p}-W2,Ben Best,{_p}-T1,NewlyQualified,0.5,,\n{_p}-W3,Cal Cole,{_p}-T2,PersonalAdviser,0.8,1,\n",
        [AuthorityCsv.ChildrenFile] = "child_id,team_id,referred_at,clock_started_at,worker_id,override_by,override_reason,family_id," + string.Join(',', AuthorityCsv.CaseRecordColumns) + "\n" +
            $"{_p}-C1,{_p}-T1,2026-01-05T00:00:00Z,2026-01-05T09:00:00Z,{_p}-W1,,,,ChildProtection,2026-01-10,2026-11-20,2026-11-19,2026-11-01,2026-10-30,2026-01-06,2026-02-20,true,false,2026-11-02,2026-10-15,2025-06-01\n" +
            $"{_p}-C2,{_p}-T1,2026-11-01T00:00:00Z,2026-11-01T09:30:00Z,,,,,,,,,,,,,,,,,\n" +
            $"{_p}-C3,{_p}-T2,2026-02-01T00:00:00Z,2026-02-01T10:00:00Z,{_p}-W3,,,{_p}-F1,ChildLookedAfter,,,,2026-11-15,,,,,,,,\n" +
            $"{_p}-C4,{_p}-T2,2026-02-02T00:00:00Z,2026-02-02T10:00:00Z,{_p}-W3,HOS-01,Sibling already allocated,{_p}-F1,,,,,,,,,,,,,\n",
        [AuthorityCsv.HistoryFile] = "child_id,worker_id,from,to,reason\n" +
            $"{_p}-C1,{_p}-W2,2026-01-05T12:00:00Z,2026-03-01T00:00:00Z,allocation\n" +
            $"{_p}-C1,{_p}-W1,2026-03-01T00:00:00Z,,Caseload rebalanced\n" +
            $"{_p}-C3,{_p}-W3,2026-02-01T12:00:00Z,,allocation\n" +
            $"{_p}-C4,{_p}-W3,2026-02-02T12:00:00Z,,allocation\n",
    };

    [Fact]
    public async Task Import_then_export_gives_back_the_same_files()
    {
        var files = Files();
        var response = await _http.PostAsync("/api/import", Form(files));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var counts = JsonDocument.Parse(text).RootElement;
        Assert.Equal((2, 3, 4, 4), (counts.GetProperty("teams").GetInt32(), counts.GetProperty("workers").GetInt32(),
            counts.GetProperty("children").GetInt32(), counts.GetProperty("historyPeriods").GetInt32()));

        foreach (var (name, imported) in files)
        {
            var export = await _http.GetAsync($"/api/export/{name}");
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            Assert.Equal("text/csv", export.Content.Headers.ContentType?.MediaType);
            var exported = await export.Content.ReadAsStringAsync();
            // The service is shared with other tests: compare this test's rows, in any order.
            Assert.Equal(Lines(imported), Lines(exported).Where(l => l.Contains(_p, StringComparison.Ordinal) || !l.Contains('-')).Order());
        }

        var board = JsonDocument.Parse(await _http.GetStringAsync($"/api/teams/{_p}-T2/board")).RootElement;
        Assert.Equal(2, board.GetProperty("workers")[0].GetProperty("caseload").GetInt32());
    }

    [Fact]
    public async Task One_bad_row_and_nothing_is_imported()
    {
        var files = Files();
        files[AuthorityCsv.ChildrenFile] += $"{_p}-C5,{_p}-T1,2026-01-05,2026-01-05,{_p}-W-GHOST,,,,,,,,,,,,,,,,\n";
        files[AuthorityCsv.WorkersFile] += $"{_p}-W4,Dee,{_p}-T1,SocialWorker,2,,\n";

        var response = await _http.PostAsync("/api/import", Form(files));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("file").GetString(), e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())).ToList();
        Assert.Equal([(AuthorityCsv.WorkersFile, 5, "fte"), (AuthorityCsv.ChildrenFile, 6, "worker_id")], errors);

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/teams/{_p}-T1/board")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/workers/{_p}-W1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/children/{_p}-C1")).StatusCode);
        Assert.DoesNotContain($"{_p}-T", await _http.GetStringAsync("/api/teams"));
    }

    [Fact]
    public async Task Importing_a_child_twice_is_rejected()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/api/import", Form(Files()))).StatusCode);

        var again = await _http.PostAsync("/api/import", Form(new() { [AuthorityCsv.ChildrenFile] = Files()[AuthorityCsv.ChildrenFile] }));

        var text = await again.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal([2, 3, 4, 5], errors.Where(e => e.GetProperty("column").GetString() == "child_id").Select(e => e.GetProperty("line").GetInt32()));
        Assert.All(errors.Where(e => e.GetProperty("column").GetString() == "child_id"), e => Assert.Contains("already exists", e.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task The_command_posts_a_folder_and_prints_the_result()
    {
        var folder = Directory.CreateTempSubdirectory("import-").FullName;
        foreach (var (name, content) in Files())
        {
            await File.WriteAllTextAsync(Path.Combine(folder, name), content);
        }

        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ImportCommand.RunAsync([folder], output, error, factory.Server.CreateHandler());

        Assert.True(code == 0, error.ToString());
        Assert.Contains("[3/3]", output.ToString());
        Assert.Contains("Imported 2 teams, 3 workers, 4 children", output.ToString());

        var rejected = new StringWriter();
        Assert.Equal(1, await ImportCommand.RunAsync([folder], output, rejected, factory.Server.CreateHandler()));
        Assert.Contains($"children.csv:2 [child_id] Child '{_p}-C1' already exists", rejected.ToString());
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Progress_is_reported_per_phase_while_loading_and_idle_afterwards()
    {
        var progress = new ImportProgress();
        var load = new Allocation.Service.Seeding.AuthorityLoad(
            [new($"{_p}-PT", "Progress")],
            [new($"{_p}-PW", new Allocation.Grains.SocialWorkers.UpsertWorker("W", $"{_p}-PT", Allocation.Grains.WorkerRole.SocialWorker, 1.0m))],
            [.. Enumerable.Range(1, 5).Select(i => new Allocation.Service.Seeding.LoadChild($"{_p}-PC{i}",
                new Allocation.Grains.Children.ImportChild($"{_p}-PT", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddHours(-1), [])))]);

        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        var loading = Allocation.Service.Seeding.AuthorityLoader.LoadAsync(grains, load, CancellationToken.None, progress);
        await loading;
        Assert.Equal(new ImportProgress.Snapshot("children", 5, 5, progress.Current.StartedAt), progress.Current);
        progress.End();
        Assert.Equal("idle", progress.Current.Phase);

        var idle = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(_http, "/api/import/progress");
        Assert.Equal("idle", idle.GetProperty("phase").GetString());
        Assert.Equal("      children   [############--------] 60 %  6,000/10,000", ImportCommand.Bar("children", 6000, 10000));
        Assert.Equal("      workers    [####################] 100 %  0/0", ImportCommand.Bar("workers", 0, 0));
    }

    [Fact]
    public async Task A_rejection_names_the_first_thousand_rows_and_counts_the_rest()
    {
        var rows = string.Concat(Enumerable.Range(0, 1500).Select(i => $"{_p}-T{i},\n"));
        var response = await _http.PostAsync("/api/import", Form(new() { [AuthorityCsv.TeamsFile] = "team_id,name\n" + rows }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(ImportApi.MaxErrorsShown, problem.GetProperty("errors").GetArrayLength());
        Assert.Equal(500, problem.GetProperty("errorsNotShown").GetInt32());
    }

    [Fact]
    public async Task An_override_by_a_worker_of_the_authority_is_rejected()
    {
        var files = Files();
        files[AuthorityCsv.ChildrenFile] = files[AuthorityCsv.ChildrenFile].Replace("HOS-01", $"{_p}-W1", StringComparison.Ordinal);

        var response = await _http.PostAsync("/api/import", Form(files));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("override_by", error.GetProperty("column").GetString());
    }

    [Fact]
    public async Task The_case_record_and_supervision_columns_reach_the_child_and_the_worker()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/api/import", Form(Files()))).StatusCode);

        var child = JsonDocument.Parse(await _http.GetStringAsync($"/api/children/{_p}-C1")).RootElement.GetProperty("caseRecord");
        Assert.Equal(("ChildProtection", "2026-11-01", "2026-10-30", true, false, "2025-06-01"), (
            child.GetProperty("plan").GetString(), child.GetProperty("reviewDueOn").GetString(), child.GetProperty("reviewDoneOn").GetString(),
            child.GetProperty("childSeen").GetBoolean(), child.GetProperty("childSeenAlone").GetBoolean(), child.GetProperty("previousReferralOn").GetString()));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(await _http.GetStringAsync($"/api/children/{_p}-C2")).RootElement.GetProperty("caseRecord").ValueKind);
        var worker = JsonDocument.Parse(await _http.GetStringAsync($"/api/workers/{_p}-W1")).RootElement;
        Assert.Equal([Month(-2), Month(-1)], worker.GetProperty("supervisions").EnumerateArray().Select(d => d.GetString()));
    }

    [Fact]
    public async Task A_bad_case_record_field_names_its_column_and_nothing_is_imported()
    {
        var files = Files();
        files[AuthorityCsv.ChildrenFile] = files[AuthorityCsv.ChildrenFile]
            .Replace("ChildLookedAfter,", "Looked after,", StringComparison.Ordinal)
            .Replace(",true,false,", ",yes,false,", StringComparison.Ordinal);
        files[AuthorityCsv.WorkersFile] = files[AuthorityCsv.WorkersFile].Replace($"{Month(-2)};", "2026-13-01;", StringComparison.Ordinal);

        var response = await _http.PostAsync("/api/import", Form(files));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("file").GetString(), e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())).ToList();
        Assert.Equal([(AuthorityCsv.WorkersFile, 2, "supervisions"), (AuthorityCsv.ChildrenFile, 2, "child_seen"), (AuthorityCsv.ChildrenFile, 4, "plan")], errors);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/children/{_p}-C1")).StatusCode);
    }

    /// <summary>The 5th of a month relative to this one, as yyyy-MM-dd: supervision dates within the year the worker keeps.</summary>
    private static string Month(int offset)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return new DateOnly(today.Year, today.Month, 5).AddMonths(offset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    }


    [Fact]
    public async Task Unknown_export_file_is_404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/export/secrets.csv")).StatusCode);
    }

    private static IEnumerable<string> Lines(string csv) =>
        csv.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order();

    private static MultipartFormDataContent Form(Dictionary<string, string> files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, content) in files)
        {
            var part = new ByteArrayContent(Encoding.UTF8.GetBytes(content));
            part.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(part, Path.GetFileNameWithoutExtension(name), name);
        }

        return form;
    }
}
