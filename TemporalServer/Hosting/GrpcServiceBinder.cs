using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// Binds the public methods of <typeparamref name="TService"/> shaped as unary RPCs (<c>Task&lt;TResponse&gt;
/// Name(TRequest, ServerCallContext)</c>, both protobuf messages) to the RPCs of the same name in
/// <c>serviceName</c>, so no .proto compilation is needed; an RPC without a method is answered Unimplemented by
/// ASP.NET Core's gRPC. Every answer waits for <c>durable</c>: with a state file, nothing is acknowledged before it is
/// committed.
/// </summary>
/// <remarks>
/// The methods, not the service's protobuf descriptor, say what to bind: building that descriptor parses the file
/// descriptors of the whole Temporal API, which was a third of the server's CPU before it listened (about 0.3 s of 0.9
/// s), paid by each of the test suite's hundred-odd launches. The message types' parsers need no descriptor.
/// </remarks>
internal sealed class GrpcServiceBinder<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    private static readonly MethodInfo BindMethodDefinition =
        typeof(GrpcServiceBinder<TService>).GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly string _serviceName;
    private readonly ILogger _logger;
    private readonly Func<Task> _durable;

    /// <summary>Initializes a new instance of the <see cref="GrpcServiceBinder{TService}"/> class.</summary>
    /// <param name="serviceName">The service's full protobuf name, e.g. <c>temporal.api.workflowservice.v1.WorkflowService</c>.</param>
    /// <param name="loggerFactory">Where the RPC log goes.</param>
    /// <param name="durable">What every answer waits for (the group commit of the state file).</param>
    public GrpcServiceBinder(string serviceName, ILoggerFactory loggerFactory, Func<Task> durable)
    {
        _serviceName = serviceName;
        _durable = durable;
        _logger = loggerFactory.CreateLogger("Stateset.TemporalServer.Rpc");
    }

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        foreach (var implementation in typeof(TService).GetMethods(BindingFlags.Public | BindingFlags.Instance))
        {
            if (UnaryRpc(implementation) is { } types)
            {
                BindMethodDefinition
                    .MakeGenericMethod(types.Request, types.Response)
                    .Invoke(null, [context, _serviceName, implementation, _logger, _durable]);
            }
        }
    }

    /// <summary>The request and response types of a method shaped as a unary RPC, else null.</summary>
    private static (Type Request, Type Response)? UnaryRpc(MethodInfo method)
    {
        var parameters = method.GetParameters();
        return method.ReturnType is { IsGenericType: true } returned
            && returned.GetGenericTypeDefinition() == typeof(Task<>)
            && returned.GetGenericArguments()[0] is var response && typeof(IMessage).IsAssignableFrom(response)
            && parameters.Length == 2
            && typeof(IMessage).IsAssignableFrom(parameters[0].ParameterType)
            && parameters[1].ParameterType == typeof(ServerCallContext)
            ? (parameters[0].ParameterType, response)
            : null;
    }

    private static MessageParser<T> ParserOf<T>()
        where T : class, IMessage<T> =>
        (MessageParser<T>)typeof(T).GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    private static void Bind<TRequest, TResponse>(
        ServiceMethodProviderContext<TService> context,
        string serviceName,
        MethodInfo implementation,
        ILogger logger,
        Func<Task> durable)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var requestParser = ParserOf<TRequest>();
        var responseParser = ParserOf<TResponse>();
        var name = implementation.Name;
        var method = new Method<TRequest, TResponse>(
            MethodType.Unary,
            serviceName,
            name,
            Marshallers.Create(r => r.ToByteArray(), requestParser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), responseParser.ParseFrom));
        var handler = (Func<TService, TRequest, ServerCallContext, Task<TResponse>>)Delegate.CreateDelegate(
            typeof(Func<TService, TRequest, ServerCallContext, Task<TResponse>>), implementation);
        context.AddUnaryMethod(method, [], async (service, request, callContext) =>
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug("RPC {Method} {Request}", name, request);
            }

            try
            {
                var response = await handler(service, request, callContext);
                await durable();
                return response;
            }
            catch (RpcException e)
            {
                logger.LogDebug("RPC {Method} failed: {Status}", name, e.Status);
                throw;
            }
            catch (OperationCanceledException) when (callContext.CancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogError(e, "RPC {Method} failed unexpectedly", name);
                throw new RpcException(new Status(StatusCode.Internal, $"{name} failed: {e.Message}"));
            }
        });
    }
}
