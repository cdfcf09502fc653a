using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;

namespace Stateset.Gateway.Workflows;

/// <summary>
/// A resource GET's answer written straight from its read-model row: the envelope of <see cref="ResourceView"/>
/// around the status view exactly as PostgreSQL returned it, so a read never deserialises and re-serialises the
/// view. The row's version is the <c>ETag</c>; a client that sends it back in <c>If-None-Match</c> gets 304.
/// </summary>
public sealed class StoredResourceView(string id, string workflowId, bool live, long version, string status, string? temporalUiUrl)
    : IResult, IEndpointMetadataProvider
{
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText WorkflowIdName = JsonEncodedText.Encode("workflowId");
    private static readonly JsonEncodedText LiveName = JsonEncodedText.Encode("live");
    private static readonly JsonEncodedText VersionName = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText StatusName = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText TemporalUiUrlName = JsonEncodedText.Encode("temporalUiUrl");

    /// <summary>Gets the entity tag of this version of the resource.</summary>
    public string ETag { get; } = $"\"{version}\"";

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(ResourceView), ["application/json"]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status304NotModified, typeof(void)));
    }

    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.Headers.ETag = ETag;

        // The view changes with every step: a client may keep it, but must ask again before using it.
        response.Headers.CacheControl = "no-cache";
        if (httpContext.Request.Headers.IfNoneMatch.Contains(ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(response.BodyWriter);
        json.WriteStartObject();
        json.WriteString(IdName, id);
        json.WriteString(WorkflowIdName, workflowId);
        json.WriteBoolean(LiveName, live);
        json.WriteNumber(VersionName, version);
        json.WritePropertyName(StatusName);

        // PostgreSQL wrote this text from jsonb: it is one valid JSON object, so it is not parsed again here.
        json.WriteRawValue(status, skipInputValidation: true);
        if (temporalUiUrl is null)
        {
            json.WriteNull(TemporalUiUrlName);
        }
        else
        {
            json.WriteString(TemporalUiUrlName, temporalUiUrl);
        }

        json.WriteEndObject();
        await json.FlushAsync(httpContext.RequestAborted);
    }
}
