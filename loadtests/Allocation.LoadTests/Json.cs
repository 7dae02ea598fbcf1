using System.Text.Json;
using System.Text.Json.Serialization;

namespace Allocation.LoadTests;

public static class Json
{
    /// <summary>What the service speaks: camelCase, enums as strings.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
