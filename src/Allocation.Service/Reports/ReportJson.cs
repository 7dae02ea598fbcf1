using System.Text.Json;
using System.Text.Json.Serialization;

namespace Allocation.Service.Reports;

/// <summary>How a report is stored as JSON; also used to compare two reports for equality.</summary>
public static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };
}
