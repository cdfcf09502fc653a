using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Temporalio.Activities;
using Temporalio.Workflows;

namespace Stateset.Workflows.Common;

/// <summary>
/// Activities and child workflows called by lambda (and, through <see cref="Extract"/>, the gateway's starts and signals), as with the SDK's own overloads (<c>Workflow.ExecuteActivityAsync(
/// (IOrderActivities a) => a.PlaceOrderAsync(input), options)</c>), minus their cost: the SDK turns every argument that
/// is not a constant into a delegate with <c>Expression.Compile()</c> on every call, and a captured local is never a
/// constant, so each call JIT-compiled a method (a quarter of the worker's CPU under load). Here the arguments are read
/// from the closure by reflection and the SDK's by-name overloads are called with the names the SDK's own definitions
/// give the activity or workflow: the commands, and so the histories, are the same.
/// </summary>
public static class Calls
{
    private static readonly ConcurrentDictionary<MethodInfo, string> ActivityNames = new();
    private static readonly ConcurrentDictionary<Type, string> WorkflowNames = new();
    private static readonly ConcurrentDictionary<MethodInfo, string> SignalNames = new();

    /// <summary>Runs an activity and returns its result.</summary>
    public static Task<TResult> ActivityAsync<TActivities, TResult>(Expression<Func<TActivities, Task<TResult>>> call, ActivityOptions options)
    {
        var (name, args) = Activity(call);
        return Workflow.ExecuteActivityAsync<TResult>(name, args, options);
    }

    /// <summary>Runs an activity without a result.</summary>
    public static Task ActivityAsync<TActivities>(Expression<Func<TActivities, Task>> call, ActivityOptions options)
    {
        var (name, args) = Activity(call);
        return Workflow.ExecuteActivityAsync(name, args, options);
    }

    /// <summary>Runs a local activity and returns its result.</summary>
    public static Task<TResult> LocalActivityAsync<TActivities, TResult>(Expression<Func<TActivities, Task<TResult>>> call, LocalActivityOptions options)
    {
        var (name, args) = Activity(call);
        return Workflow.ExecuteLocalActivityAsync<TResult>(name, args, options);
    }

    /// <summary>Runs a local activity without a result.</summary>
    public static Task LocalActivityAsync<TActivities>(Expression<Func<TActivities, Task>> call, LocalActivityOptions options)
    {
        var (name, args) = Activity(call);
        return Workflow.ExecuteLocalActivityAsync(name, args, options);
    }

    /// <summary>Runs a child workflow to its end and returns its result.</summary>
    public static Task<TResult> ChildWorkflowAsync<TWorkflow, TResult>(Expression<Func<TWorkflow, Task<TResult>>> call, ChildWorkflowOptions options)
    {
        var (_, args) = Extract(call);
        return Workflow.ExecuteChildWorkflowAsync<TResult>(WorkflowName<TWorkflow>(), args, options);
    }

    /// <summary>The workflow type name of <typeparamref name="TWorkflow"/>, as its definition gives it.</summary>
    public static string WorkflowName<TWorkflow>() => WorkflowNames.GetOrAdd(typeof(TWorkflow), type => WorkflowDefinition.Create(type).Name!);

    /// <summary>The signal name of a <c>[WorkflowSignal]</c> method, as its definition gives it.</summary>
    public static string SignalName(MethodInfo method) => SignalNames.GetOrAdd(method, m => WorkflowSignalDefinition.FromMethod(m).Name!);

    /// <summary>
    /// The method a lambda of the form <c>x => x.Method(arg, …)</c> calls, and its arguments' values now: constants, and
    /// fields and properties read from the closure (or from what they hold) without compiling anything; other argument
    /// expressions are interpreted rather than compiled.
    /// </summary>
    public static (MethodInfo Method, object?[] Args) Extract(LambdaExpression call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (call.Body is not MethodCallExpression body || (body.Object is not null && body.Object != call.Parameters.SingleOrDefault()))
        {
            throw new ArgumentException("The lambda must be a single call on its parameter: x => x.Method(arguments).", nameof(call));
        }

        var args = new object?[body.Arguments.Count];
        for (var i = 0; i < args.Length; i++)
        {
            args[i] = Evaluate(body.Arguments[i]);
        }

        return (body.Method, args);
    }

    private static (string Name, object?[] Args) Activity(LambdaExpression call)
    {
        var (method, args) = Extract(call);
        return (ActivityNames.GetOrAdd(method, m => ActivityDefinition.Create(m, _ => null).Name!), args);
    }

    private static object? Evaluate(Expression expression) => expression switch
    {
        ConstantExpression constant => constant.Value,
        MemberExpression { Member: FieldInfo field } member => field.GetValue(member.Expression is null ? null : Evaluate(member.Expression)),
        MemberExpression { Member: PropertyInfo property } member => property.GetValue(member.Expression is null ? null : Evaluate(member.Expression)),
        UnaryExpression { NodeType: ExpressionType.Convert, Method: null } convert when !convert.Type.IsValueType && convert.Type.IsAssignableFrom(convert.Operand.Type) =>
            Evaluate(convert.Operand),
        _ => Expression.Lambda<Func<object?>>(Expression.Convert(expression, typeof(object))).Compile(preferInterpretation: true)(),
    };
}
