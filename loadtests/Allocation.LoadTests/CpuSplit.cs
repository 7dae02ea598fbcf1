using System.Diagnostics;
using System.Globalization;

namespace Allocation.LoadTests;

/// <summary>
/// CPU seconds used by this load generator and, when <c>ALLOCATION_SERVICE_PID</c> names it, by the service, over a
/// measured phase: on a shared 2-core machine this shows how much of the time went to each side.
/// </summary>
public sealed class CpuSplit
{
    private readonly TimeSpan _generator = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly double? _service = ServiceSeconds();
    private readonly long _start = Stopwatch.GetTimestamp();

    public object Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var generator = (Process.GetCurrentProcess().TotalProcessorTime - _generator).TotalSeconds;
        var service = ServiceSeconds() - _service;
        return new { wallSeconds = Math.Round(wall, 1), generatorCpuSeconds = Math.Round(generator, 1), serviceCpuSeconds = service is { } s ? Math.Round(s, 1) : (double?)null };
    }

    private static double? ServiceSeconds()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("ALLOCATION_SERVICE_PID"), out var pid) || !File.Exists($"/proc/{pid}/stat"))
        {
            return null;
        }

        // utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux); the name may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}
