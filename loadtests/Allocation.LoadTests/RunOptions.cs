using System.Globalization;
using System.Net;

namespace Allocation.LoadTests;

/// <summary>The command line: a scenario name, then <c>--name value</c> pairs.</summary>
public sealed record RunOptions(
    string Scenario,
    Uri Url,
    int Teams,
    int WorkersPerTeam,
    int Children,
    double Rate,
    TimeSpan Duration,
    string? ResultsDirectory)
{
    public const string Usage = """
        usage: Allocation.LoadTests smoke [options]
          --url URL               the running service; loopback only (default http://127.0.0.1:5080)
          --teams N               teams to create (default 4)
          --workers-per-team N    full-time social workers per team (default 10)
          --children N            children to refer (default 2000)
          --rate R                requests started per second, open loop (default 200)
          --duration S            stop scheduling after S seconds (default 20)
          --results DIR           where to write the results file (default loadtests/results)
        """;

    public static RunOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("Name a scenario first.");
        }

        var values = RunOptions.Pairs(args, 1);

        string Text(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        int Count(string name, int fallback) =>
            int.TryParse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"--{name} must be a positive whole number.");
        double Number(string name, double fallback) =>
            double.TryParse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture, out var d) && d > 0
                ? d : throw new ArgumentException($"--{name} must be a positive number.");

        var options = new RunOptions(
            args[0],
            LoopbackOnly(Text("url", "http://127.0.0.1:5080")),
            Count("teams", 4),
            Count("workers-per-team", 10),
            Count("children", 2000),
            Number("rate", 200),
            TimeSpan.FromSeconds(Number("duration", 20)),
            values.Remove("results", out var results) ? results : null);

        return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
    }

    /// <summary>The <c>--name value</c> pairs from <paramref name="from"/> on, by name.</summary>
    public static Dictionary<string, string> Pairs(string[] args, int from)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = from; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' at '{args[i]}'.");
            }

            values[args[i][2..]] = args[i + 1];
        }

        return values;
    }

    /// <summary>A load test must never be pointed at someone else's service: only this machine is accepted.</summary>
    public static Uri LoopbackOnly(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--url '{url}' is not an http(s) URL.");
        }

        var loopback = uri.HostNameType == UriHostNameType.Dns
            ? uri.IdnHost.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            : IPAddress.TryParse(uri.IdnHost, out var address)
              && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

        return loopback ? uri : throw new ArgumentException($"--url host '{uri.Host}' is not loopback (127.0.0.0/8, localhost or ::1).");
    }
}

/// <summary>A scenario's <c>--name value</c> options, taken one by one; <see cref="Done"/> refuses any left over.</summary>
public sealed class OptionValues(string[] args, int from)
{
    private readonly Dictionary<string, string> _values = RunOptions.Pairs(args, from);

    public string? Take(string name) => _values.Remove(name, out var v) ? v : null;

    public double Number(string name, double fallback) =>
        Take(name) is { } text ? double.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    /// <summary>Reads the options with <paramref name="read"/>; on a mistake prints it and <paramref name="usage"/> and returns false.</summary>
    public static bool TryRead<T>(string[] args, int from, string usage, Func<OptionValues, T> read, out T result)
    {
        try
        {
            var values = new OptionValues(args, from);
            result = read(values);
            values.Done();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(usage);
            result = default!;
            return false;
        }
    }

    public void Done()
    {
        if (_values.Count > 0)
        {
            throw new ArgumentException($"Unknown option --{_values.Keys.First()}.");
        }
    }
}
