using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// Binds every method of a protobuf service descriptor to the public methods of <typeparamref name="TService"/>
/// that share the RPC's name, so no .proto compilation is needed. RPCs without a method answer Unimplemented. Every answer
/// waits for <c>durable</c>: with a state file, nothing is acknowledged before it is committed.
/// </summary>
internal sealed class GrpcServiceBinder<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    private static readonly MethodInfo BindMethodDefinition =
        typeof(GrpcServiceBinder<TService>).GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly Google.Protobuf.Reflection.ServiceDescriptor _descriptor;
    private readonly ILogger _logger;
    private readonly Func<Task> _durable;

    public GrpcServiceBinder(Google.Protobuf.Reflection.ServiceDescriptor descriptor, ILoggerFactory loggerFactory, Func<Task> durable)
    {
        _descriptor = descriptor;
        _durable = durable;
        _logger = loggerFactory.CreateLogger("Stateset.TemporalServer.Rpc");
    }

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        foreach (var method in _descriptor.Methods)
        {
            var implementation = typeof(TService).GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance);
            BindMethodDefinition
                .MakeGenericMethod(method.InputType.ClrType, method.OutputType.ClrType)
                .Invoke(null, [context, _descriptor.FullName, method, implementation, _logger, _durable]);
        }
    }

    private static void Bind<TRequest, TResponse>(
        ServiceMethodProviderContext<TService> context,
        string serviceName,
        MethodDescriptor descriptor,
        MethodInfo? implementation,
        ILogger logger,
        Func<Task> durable)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var requestParser = (MessageParser<TRequest>)descriptor.InputType.Parser;
        var responseParser = (MessageParser<TResponse>)descriptor.OutputType.Parser;
        var method = new Method<TRequest, TResponse>(
            MethodType.Unary,
            serviceName,
            descriptor.Name,
            Marshallers.Create(r => r.ToByteArray(), requestParser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), responseParser.ParseFrom));
        var handler = implementation is null
            ? null
            : (Func<TService, TRequest, ServerCallContext, Task<TResponse>>)Delegate.CreateDelegate(
                typeof(Func<TService, TRequest, ServerCallContext, Task<TResponse>>), implementation);
        var name = descriptor.Name;
        context.AddUnaryMethod(method, [], async (service, request, callContext) =>
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug("RPC {Method} {Request}", name, request);
            }

            if (handler is null)
            {
                throw new RpcException(new Status(StatusCode.Unimplemented, $"{name} is not implemented by the embedded Temporal server."));
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
