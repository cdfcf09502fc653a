using Stateset.Load;

// Full orders end to end, every part of the system in its own process: see LoadOptions.Usage and README ("Load generator").
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}\n\n{LoadOptions.Usage}");
    return 2;
}

using var stop = new CancellationTokenSource();
var launched = new List<SystemUnderTest>();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// Whatever ends this process, the services it launched end with it.
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    foreach (var process in launched.SelectMany(s => s.Processes))
    {
        process.KillNow();
    }
};

var runs = new List<Figures>();
try
{
    foreach (var checkout in options.Builds)
    {
        runs.Add(await LoadRun.RunAsync(checkout, options, launched.Add, stop.Token));
    }
}
catch (LoadException e)
{
    await Console.Error.WriteLineAsync($"\nerror: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("\nstopped");
    return 1;
}

if (runs.Count > 1)
{
    Figures.PrintSideBySide(runs);
}

return 0;
