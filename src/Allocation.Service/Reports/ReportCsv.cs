using System.Globalization;
using System.Text;
using Allocation.Grains.Kpis;

namespace Allocation.Service.Reports;

/// <summary>The report as CSV, one row per KPI per scope (the authority first, then each team), for the monthly board pack.</summary>
public static class ReportCsv
{
    private static readonly string[] _header =
        ["date", "scope", "team_id", "team_name", "kpi", "plan", "title", "definition", "unit", "value", "target", "direction", "amber_margin", "rag", "previous", "previous_rag", "trend", "numerator", "denominator", "no_record"];

    public static string Write(ThresholdReport report)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', _header).Append("\r\n");
        foreach (var kpi in report.Authority)
        {
            Row(csv, report.Date, "authority", "", "", kpi);
        }

        foreach (var team in report.Teams)
        {
            foreach (var kpi in team.Kpis)
            {
                Row(csv, report.Date, "team", team.TeamId, team.Name, kpi);
            }
        }

        return csv.ToString();
    }

    private static void Row(StringBuilder csv, DateOnly date, string scope, string teamId, string teamName, KpiResult k)
    {
        string?[] fields =
        [
            date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), scope, teamId, teamName, k.Id,
            KpiCatalog.Find(k.Id)?.Source, k.Title, KpiCatalog.Find(k.Id)?.Definition, k.Unit,
            Number(k.Value), Number(k.Target), k.Direction.ToString(), Number(k.AmberMargin), k.Rag.ToString(),
            Number(k.Previous), k.PreviousRag?.ToString(), k.Trend.ToString(),
            k.Numerator?.ToString(CultureInfo.InvariantCulture), k.Denominator?.ToString(CultureInfo.InvariantCulture),
            k.NoRecord?.ToString(CultureInfo.InvariantCulture),
        ];
        csv.AppendJoin(',', fields.Select(Field)).Append("\r\n");
    }

    private static string? Number(decimal? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        // A team name beginning with = + - @ would be run as a formula when the file is opened in a spreadsheet.
        if (value[0] is '=' or '+' or '@' or '\t' or '\r' || (value[0] == '-' && !decimal.TryParse(value, CultureInfo.InvariantCulture, out _)))
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
