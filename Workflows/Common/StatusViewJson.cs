using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stateset.Workflows.Common;

/// <summary>
/// The wire form of a run's status view as the read model stores it and the gateway answers it: camelCase names,
/// enums as the API's own words (completed, approved, two_day). The workflow writes the view in this form so the
/// gateway can hand the stored JSON on as it is, without knowing the view's type or re-serialising it per request.
/// </summary>
public static class StatusViewJson
{
    /// <summary>Gets the serializer options of the stored view; the gateway's HTTP JSON options match them.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Serialises a status view (a workflow's <c>Status</c> query answer) by its runtime type.</summary>
    public static JsonElement Serialize(object view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return JsonSerializer.SerializeToElement(view, view.GetType(), Options);
    }
}
