using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Allocation.Service.Import;

public sealed record ImportArguments(string Folder, Uri Url, string? Token = null);

/// <summary>
/// <c>import &lt;folder&gt; [--url http://127.0.0.1:5080] [--token JWT]</c>: posts the folder's CSV files to a running
/// service's <c>/api/import</c> and prints each phase and the result. The bearer token is <c>--token</c>, else
/// <c>ALLOCATION_TOKEN</c>, else the demo administrator's (see <see cref="ApiSignIn"/>). Without a token of its own it
/// talks only to a service on this machine; with one, also to another host over https.
/// </summary>
public static class ImportCommand
{
    public static readonly Uri DefaultUrl = new("http://127.0.0.1:5080");

    public const string Usage = "usage: import <folder> [--url http://127.0.0.1:5080] [--token JWT (or ALLOCATION_TOKEN)]";

    public static (ImportArguments? Arguments, string? Error) Parse(IReadOnlyList<string> args, string? tokenFromEnvironment = null)
    {
        string? folder = null;
        string? token = null;
        var url = DefaultUrl;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "--url" or "--token")
            {
                if (i + 1 >= args.Count)
                {
                    return (null, $"{args[i]} needs a value. " + Usage);
                }

                if (args[i] == "--token")
                {
                    token = args[++i];
                    continue;
                }

                if (!Uri.TryCreate(args[++i], UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                {
                    return (null, $"'{args[i]}' is not an http(s) URL. " + Usage);
                }

                url = parsed;
            }
            else if (folder is null && !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                folder = args[i];
            }
            else
            {
                return (null, $"Unexpected argument '{args[i]}'. " + Usage);
            }
        }

        token ??= string.IsNullOrEmpty(tokenFromEnvironment) ? null : tokenFromEnvironment;
        if (!url.IsLoopback && token is null)
        {
            return (null, $"Refusing {url.Host}: without a token (--token or {ApiSignIn.TokenVariable}) import only talks to a service on this machine (localhost, 127.0.0.1, ::1).");
        }

        if (!url.IsLoopback && url.Scheme != "https")
        {
            return (null, $"Refusing {url}: a token is only sent to another host over https.");
        }

        return folder is null ? (null, Usage) : (new ImportArguments(folder, url, token), null);
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, HttpMessageHandler? handler = null)
    {
        var (arguments, problem) = Parse(args, Environment.GetEnvironmentVariable(ApiSignIn.TokenVariable));
        if (arguments is null)
        {
            await error.WriteLineAsync(problem);
            return 2;
        }

        if (!Directory.Exists(arguments.Folder))
        {
            await error.WriteLineAsync($"No folder '{arguments.Folder}'.");
            return 2;
        }

        await output.WriteLineAsync($"[1/3] Reading {arguments.Folder}");
        using var form = new MultipartFormDataContent();
        var found = 0;
        foreach (var name in AuthorityCsv.Files)
        {
            var path = Path.Combine(arguments.Folder, name);
            if (!File.Exists(path))
            {
                await output.WriteLineAsync($"      {name,-20} (absent)");
                continue;
            }

            // Streamed from disk: a national children.csv or worker_history.csv is tens of megabytes.
            var rows = await CountRowsAsync(path);
            await output.WriteLineAsync($"      {name,-20} {rows,8} rows");
            var content = new StreamContent(File.OpenRead(path), 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, Path.GetFileNameWithoutExtension(name), name);
            found++;
        }

        if (found == 0)
        {
            await error.WriteLineAsync($"None of {string.Join(", ", AuthorityCsv.Files)} in {arguments.Folder}.");
            return 2;
        }

        using var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = arguments.Url;
        http.Timeout = TimeSpan.FromMinutes(60);
        await output.WriteLineAsync($"[2/3] Sending to {new Uri(arguments.Url, "/api/import")}");
        try
        {
            var signedIn = await ApiSignIn.AuthorizeAsync(http, arguments.Token);
            await output.WriteLineAsync($"      token: {signedIn}");
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"Could not sign in at {arguments.Url}: {e.Message}");
            return 1;
        }

        await output.WriteLineAsync("[3/3] Validating every row, then importing (nothing is written if a row is rejected)");
        var elapsed = Stopwatch.StartNew();
        HttpResponseMessage response;
        using (var stopBar = new CancellationTokenSource())
        {
            var bar = ShowProgressAsync(http, output, stopBar.Token);
            try
            {
                response = await http.PostAsync("/api/import", form);
            }
            catch (HttpRequestException e)
            {
                await error.WriteLineAsync($"Could not reach the service at {arguments.Url}: {e.Message}");
                return 1;
            }
            finally
            {
                await stopBar.CancelAsync();
                await bar;
            }
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                using var result = JsonDocument.Parse(body);
                var r = result.RootElement;
                await output.WriteLineAsync(
                    $"Imported {r.GetProperty("teams").GetInt32()} teams, {r.GetProperty("workers").GetInt32()} workers, " +
                    $"{r.GetProperty("children").GetInt32()} children ({r.GetProperty("historyPeriods").GetInt32()} worker periods) " +
                    $"in {elapsed.Elapsed.TotalSeconds:0.0} s.");
                return 0;
            }

            await error.WriteLineAsync($"Import rejected ({(int)response.StatusCode}); nothing was imported.");
            try
            {
                using var problemJson = JsonDocument.Parse(body);
                if (problemJson.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                {
                    foreach (var e in errors.EnumerateArray())
                    {
                        var column = e.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.String ? $" [{c.GetString()}]" : "";
                        await error.WriteLineAsync($"  {e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt32()}{column} {e.GetProperty("reason").GetString()}");
                    }
                }
                else if (problemJson.RootElement.TryGetProperty("detail", out var detail))
                {
                    await error.WriteLineAsync("  " + detail.GetString());
                }
            }
            catch (JsonException)
            {
                await error.WriteLineAsync(body);
            }

            return 1;
        }
    }

    /// <summary>
    /// Polls the service's <c>/api/import/progress</c> once a second while the import runs and draws a bar: redrawn in
    /// place on a terminal, a line per tenth of a phase otherwise (a log file, a test).
    /// </summary>
    private static async Task ShowProgressAsync(HttpClient http, TextWriter output, CancellationToken stop)
    {
        var inPlace = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var lastLine = "";
        var drawn = false;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                using var response = await http.GetAsync("/api/import/progress", stop);
                if (!response.IsSuccessStatusCode)
                {
                    return; // an older service: no bar
                }

                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop));
                var phase = json.RootElement.GetProperty("phase").GetString() ?? "";
                var done = json.RootElement.GetProperty("done").GetInt32();
                var total = json.RootElement.GetProperty("total").GetInt32();
                if (phase == "idle")
                {
                    continue;
                }

                var line = Bar(phase, done, total);
                if (inPlace)
                {
                    await output.WriteAsync("\r" + line);
                    drawn = true;
                }
                else if (line[..line.IndexOf(']')] != lastLine)
                {
                    await output.WriteLineAsync(line);
                    lastLine = line[..line.IndexOf(']')];
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or JsonException or KeyNotFoundException)
        {
            // The import answered (or the service went away): the result says the rest.
        }
        finally
        {
            if (drawn)
            {
                await output.WriteLineAsync();
            }
        }
    }

    /// <summary><c>      children   [############--------]  60%  6,000/10,000</c>: one # per 5%.</summary>
    public static string Bar(string phase, int done, int total)
    {
        var fraction = total <= 0 ? 1.0 : Math.Clamp((double)done / total, 0, 1);
        var filled = (int)(fraction * 20);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"      {phase,-10} [{new string('#', filled)}{new string('-', 20 - filled)}] {fraction,4:P0}  {done:N0}/{total:N0}");
    }

    /// <summary>Data rows: lines after the header, counting a last line without a line break.</summary>
    private static async Task<long> CountRowsAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        var buffer = new byte[1 << 16];
        long lines = 0;
        var last = (byte)'\n';
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
            last = buffer[read - 1];
        }

        return Math.Max(0, lines - 1 + (last != (byte)'\n' ? 1 : 0));
    }
}
