using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Temporalio.Api.Dependencies.Google.Api;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Stateset.TemporalServer.HttpApi;

/// <summary>
/// Temporal's HTTP API (what grpc-gateway serves under <c>/api/v1</c>), generated from the <c>google.api.http</c>
/// rules in the service descriptors: every rule maps to its RPC, and the RPC runs on the same endpoint object gRPC
/// uses. A request message is built from the body, then the query string, then the path variables (later wins), and
/// the answer is the response message in proto3 JSON.
/// </summary>
internal sealed class HttpApiRouter
{
    private readonly List<Binding> _bindings = [];
    private readonly JsonParser _parser;
    private readonly JsonFormatter _formatter;
    private readonly Func<Task> _durable;

    // Like the gRPC binder, an answer waits for durable: with a state file, a signal or terminate sent from the UI is
    // acknowledged only once committed.
    public HttpApiRouter(IServiceProvider services, Func<Task> durable, params (ServiceDescriptor Descriptor, Type Endpoint)[] servicesToExpose)
    {
        var registry = TypeRegistry.FromFiles([.. servicesToExpose.Select(s => s.Descriptor.File),
            Temporalio.Api.ErrorDetails.V1.MessageReflection.Descriptor]);
        _parser = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithTypeRegistry(registry));
        _formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithTypeRegistry(registry));
        _durable = durable;
        var invokerDefinition = typeof(HttpApiRouter).GetMethod(nameof(CreateInvoker), BindingFlags.NonPublic | BindingFlags.Static)!;
        foreach (var (descriptor, endpointType) in servicesToExpose)
        {
            var endpoint = services.GetRequiredService(endpointType);
            foreach (var method in descriptor.Methods)
            {
                if (method.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is not { } rule)
                {
                    continue;
                }

                var implementation = endpointType.GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance);
                var invoke = implementation is null
                    ? null
                    : (Func<IMessage, ServerCallContext, Task<IMessage>>)invokerDefinition
                        .MakeGenericMethod(endpointType, method.InputType.ClrType, method.OutputType.ClrType)
                        .Invoke(null, [endpoint, implementation])!;
                foreach (var binding in new[] { rule }.Concat(rule.AdditionalBindings))
                {
                    if (Route(binding) is { } route)
                    {
                        _bindings.Add(new Binding(route, method, binding.ResponseBody, invoke));
                    }
                }
            }
        }
    }

    /// <summary>Gets the formatter the API answers with (proto3 JSON: int64 as strings, enum names, payloads in base64).</summary>
    public JsonFormatter Formatter => _formatter;

    /// <summary>Gets every bound template, for diagnostics and tests.</summary>
    public IEnumerable<(string Verb, string Template, string Method)> Routes =>
        _bindings.Select(b => (b.Route.Verb, b.Route.Template, b.Method.Name));

    /// <summary>Answers one request under <c>/api/v1</c>; false when no rule has this path at all.</summary>
    public async Task<bool> TryHandleAsync(HttpContext http)
    {
        // The raw target keeps %2F inside a segment: a workflow id "orders/42" is one path variable, not two segments.
        var rawPath = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        var queryStart = rawPath.IndexOf('?', StringComparison.Ordinal);
        if (queryStart >= 0)
        {
            rawPath = rawPath[..queryStart];
        }

        var segments = rawPath.Trim('/').Split('/');
        Binding? best = null;
        List<(string Field, string Value)>? bestVariables = null;
        var pathKnown = false;
        foreach (var binding in _bindings)
        {
            if (!binding.Route.TryMatch(segments, out var variables))
            {
                continue;
            }

            pathKnown = true;
            if (string.Equals(binding.Route.Verb, http.Request.Method, StringComparison.OrdinalIgnoreCase) &&
                (best is null || binding.Route.LiteralCount > best.Route.LiteralCount))
            {
                best = binding;
                bestVariables = variables;
            }
        }

        if (best is null)
        {
            if (pathKnown)
            {
                await HttpApiErrors.WriteAsync(http, StatusCode.Unimplemented, "Method Not Allowed");
                return true;
            }

            return false;
        }

        await InvokeAsync(http, best, bestVariables!);
        return true;
    }

    private static HttpRoute? Route(HttpRule rule) => rule.PatternCase switch
    {
        HttpRule.PatternOneofCase.Get => HttpRoute.Parse("GET", rule.Get, rule.Body),
        HttpRule.PatternOneofCase.Post => HttpRoute.Parse("POST", rule.Post, rule.Body),
        HttpRule.PatternOneofCase.Put => HttpRoute.Parse("PUT", rule.Put, rule.Body),
        HttpRule.PatternOneofCase.Delete => HttpRoute.Parse("DELETE", rule.Delete, rule.Body),
        HttpRule.PatternOneofCase.Patch => HttpRoute.Parse("PATCH", rule.Patch, rule.Body),
        HttpRule.PatternOneofCase.Custom => HttpRoute.Parse(rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path, rule.Body),
        _ => null,
    };

    private static Func<IMessage, ServerCallContext, Task<IMessage>> CreateInvoker<TEndpoint, TRequest, TResponse>(TEndpoint endpoint, MethodInfo implementation)
        where TRequest : IMessage
        where TResponse : IMessage
    {
        var handler = (Func<TRequest, ServerCallContext, Task<TResponse>>)Delegate.CreateDelegate(
            typeof(Func<TRequest, ServerCallContext, Task<TResponse>>), endpoint, implementation);
        return async (request, context) => await handler((TRequest)request, context);
    }

    private async Task InvokeAsync(HttpContext http, Binding binding, List<(string Field, string Value)> variables)
    {
        IMessage request;
        try
        {
            request = await ReadRequestAsync(http, binding, variables);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or JsonException or FormatException)
        {
            await HttpApiErrors.WriteAsync(http, StatusCode.InvalidArgument, e.Message);
            return;
        }

        if (binding.Invoke is null)
        {
            await HttpApiErrors.WriteAsync(http, StatusCode.Unimplemented, $"{binding.Method.Name} is not implemented by the embedded Temporal server.");
            return;
        }

        IMessage response;
        try
        {
            response = await binding.Invoke(request, new HttpCallContext(http, binding.Method.FullName));
            await _durable();
        }
        catch (RpcException e)
        {
            await HttpApiErrors.WriteAsync(http, e, _formatter);
            return;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (!string.IsNullOrEmpty(binding.ResponseBody) && binding.Method.OutputType.FindFieldByName(binding.ResponseBody) is { } field &&
            field.Accessor.GetValue(response) is IMessage part)
        {
            response = part;
        }

        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(_formatter.Format(response), http.RequestAborted);
    }

    private async Task<IMessage> ReadRequestAsync(HttpContext http, Binding binding, List<(string Field, string Value)> variables)
    {
        var descriptor = binding.Method.InputType;
        var root = new JsonObject();
        if (!string.IsNullOrEmpty(binding.Route.Body) && http.Request.ContentLength != 0)
        {
            using var reader = new StreamReader(http.Request.Body);
            var text = await reader.ReadToEndAsync(http.RequestAborted);
            if (!string.IsNullOrWhiteSpace(text))
            {
                var body = JsonNode.Parse(text);
                if (binding.Route.Body == "*")
                {
                    root = body as JsonObject ?? throw new FormatException("The request body must be a JSON object.");
                }
                else
                {
                    var (parent, field) = Resolve(root, descriptor, binding.Route.Body);
                    parent[field.JsonName] = body;
                }
            }
        }

        // Query parameters set fields the body did not bind (grpc-gateway ignores them for body "*").
        if (binding.Route.Body != "*")
        {
            foreach (var (key, values) in http.Request.Query)
            {
                if (!TryResolve(root, descriptor, key, out var parent, out var field))
                {
                    continue;
                }

                foreach (var value in values)
                {
                    Set(parent, field, value ?? string.Empty);
                }
            }
        }

        foreach (var (path, value) in variables)
        {
            var (parent, field) = Resolve(root, descriptor, path);
            parent.Remove(field.JsonName);
            Set(parent, field, value);
        }

        return _parser.Parse(root.ToJsonString(), descriptor);
    }

    private static (JsonObject Parent, FieldDescriptor Field) Resolve(JsonObject root, MessageDescriptor descriptor, string path) =>
        TryResolve(root, descriptor, path, out var parent, out var field)
            ? (parent, field)
            : throw new FormatException($"{descriptor.Name} has no field '{path}'.");

    /// <summary>Walks a dotted field path (proto or JSON names), creating the parent objects in the JSON tree.</summary>
    private static bool TryResolve(JsonObject root, MessageDescriptor descriptor, string path, out JsonObject parent, out FieldDescriptor field)
    {
        parent = root;
        field = null!;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            var found = descriptor.FindFieldByName(parts[i]) ?? descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == parts[i]);
            if (found is null)
            {
                return false;
            }

            if (i == parts.Length - 1)
            {
                field = found;
                return true;
            }

            if (found.FieldType != FieldType.Message || found.IsRepeated)
            {
                return false;
            }

            if (parent[found.JsonName] is not JsonObject child)
            {
                child = [];
                parent[found.JsonName] = child;
            }

            parent = child;
            descriptor = found.MessageType;
        }

        return false;
    }

    private static void Set(JsonObject parent, FieldDescriptor field, string text)
    {
        var value = Scalar(field, text);
        if (field.IsRepeated)
        {
            if (parent[field.JsonName] is not JsonArray array)
            {
                array = [];
                parent[field.JsonName] = array;
            }

            array.Add(value);
        }
        else
        {
            parent[field.JsonName] = value;
        }
    }

    /// <summary>A query or path value as the JSON the proto3 parser reads for this field's type.</summary>
    private static JsonNode Scalar(FieldDescriptor field, string text) => field.FieldType switch
    {
        FieldType.Bool => JsonValue.Create(bool.Parse(text)),
        FieldType.Enum => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : JsonValue.Create(text),
        FieldType.Double or FieldType.Float => JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture)),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.UInt32 or FieldType.Fixed32 =>
            JsonValue.Create(long.Parse(text, CultureInfo.InvariantCulture)),

        // The UI sends page tokens in URL-safe base64; the proto3 JSON parser reads the standard alphabet.
        FieldType.Bytes => JsonValue.Create(StandardBase64(text)),
        FieldType.Message when field.MessageType.FullName is "google.protobuf.Timestamp" or "google.protobuf.Duration" or
            "google.protobuf.StringValue" or "google.protobuf.Int64Value" or "google.protobuf.BoolValue" => JsonValue.Create(text),
        FieldType.Message => throw new FormatException($"Field '{field.Name}' is a message and cannot be set from the URL."),
        _ => JsonValue.Create(text),
    };

    private static string StandardBase64(string text)
    {
        var standard = text.Replace(' ', '+').Replace('-', '+').Replace('_', '/');
        return (standard.Length % 4) switch
        {
            2 => standard + "==",
            3 => standard + "=",
            _ => standard,
        };
    }

    private sealed record Binding(HttpRoute Route, MethodDescriptor Method, string ResponseBody, Func<IMessage, ServerCallContext, Task<IMessage>>? Invoke);
}
