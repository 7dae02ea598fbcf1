using System.Globalization;
using Allocation.LoadTests;

// Figures in the console and the results file read the same on every machine.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// The nightly threshold checks are timed in process, against a silo of their own (see NightlyScenario).
if (args is ["nightly", ..])
{
    return await NightlyScenario.Run(args[1..]);
}

// Memory per active child grain, measured in a local silo (see GrainMemoryScenario).
if (args is ["memory", ..])
{
    return await GrainMemoryScenario.Run(args[1..]);
}

// Board snapshot reads while allocations run (see BoardReadsScenario).
if (args is ["boardreads", ..]) return await BoardReadsScenario.Run(args[1..]);

// Synthetic authorities in the bulk import's CSV format (see GenerateScenario).
if (args is ["generate", ..])
{
    return GenerateScenario.Run(args[1..]);
}

// The pressure forecast against a naive one over a generated year of team history (see BacktestScenario).
if (args is ["backtest", ..])
{
    return BacktestScenario.Run(args[1..]);
}

// Bulk import of a generated authority into a running service (see ImportScenario).
if (args is ["import", ..])
{
    return await ImportScenario.Run(args[1..]);
}

// Process start to first served request of the published service (see ColdStartScenario).
if (args is ["coldstart", ..])
{
    return await ColdStartScenario.Run(args[1..]);
}

// Faults injected under a mixed command load, then the shared invariant check (see Faults/FaultScenarios).
if (args is ["faults", ..])
{
    return await Allocation.LoadTests.Faults.FaultScenarios.Run(args[1..]);
}

// Durable allocations per second on a ladder of rates (see DurableScenario).
if (args is ["durable", ..])
{
    return await DurableScenario.Run(args[1..]);
}

// Push latency drives SignalR clients of its own (see PushLatencyScenario).
if (args is ["push", ..])
{
    try
    {
        return await PushLatencyScenario.Run(args[1..]);
    }
    catch (HttpRequestException ex)
    {
        Console.Error.WriteLine($"The service did not answer as expected: {ex.Message}");
        return 1;
    }
}

RunOptions options;
try
{
    options = RunOptions.Parse(args);
    if (options.Scenario != "smoke")
    {
        throw new ArgumentException($"Unknown scenario '{options.Scenario}'.");
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(RunOptions.Usage);
    return 2;
}

// Every id this run creates starts with the run id, so runs against the same service never collide.
var runId = $"lt-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
RunReport report;
try
{
    // Open loop: when the service slows down, requests pile up in flight, each needing a connection.
    using var clients = await ServiceClients.SignIn(options.Url, maxConnectionsPerServer: 2048);
    report = await SmokeScenario.Run(clients, options, runId);
}
catch (HttpRequestException ex)
{
    Console.Error.WriteLine($"The service at {options.Url} did not answer as expected: {ex.Message}");
    return 1;
}

Report.Print(report);
Console.WriteLine("results: " + Report.Write(report, options.ResultsDirectory));
Console.WriteLine(report.MarkdownRow);
return report.Pass ? 0 : 1;
