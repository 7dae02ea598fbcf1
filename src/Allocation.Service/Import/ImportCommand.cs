using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Allocation.Service.Import;

public sealed record ImportArguments(string Folder, Uri Url);

/// <summary>
/// <c>import &lt;folder&gt; [--url http://127.0.0.1:5080]</c>: posts the folder's CSV files to a running service's
/// <c>/api/import</c> and prints each phase and the result. Only a service on this machine. The import needs an
/// administrator: the token in <c>ALLOCATION_TOKEN</c>, else (the demo) the demo administrator's from the demo sign-in.
/// </summary>
public static class ImportCommand
{
    public static readonly Uri DefaultUrl = new("http://127.0.0.1:5080");

    public const string Usage = "usage: import <folder> [--url http://127.0.0.1:5080]";

    public static (ImportArguments? Arguments, string? Error) Parse(IReadOnlyList<string> args)
    {
        string? folder = null;
        var url = DefaultUrl;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--url")
            {
                if (i + 1 >= args.Count)
                {
                    return (null, "--url needs a value. " + Usage);
                }

                if (!Uri.TryCreate(args[++i], UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                {
                    return (null, $"'{args[i]}' is not an http(s) URL. " + Usage);
                }

                if (!parsed.IsLoopback)
                {
                    return (null, $"Refusing {parsed.Host}: import only talks to a service on this machine (localhost, 127.0.0.1, ::1).");
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

        return folder is null ? (null, Usage) : (new ImportArguments(folder, url), null);
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, HttpMessageHandler? handler = null)
    {
        var (arguments, problem) = Parse(args);
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

            var bytes = await File.ReadAllBytesAsync(path);
            var rows = Math.Max(0, bytes.Count(b => b == (byte)'\n') - 1 + (bytes.Length > 0 && bytes[^1] != (byte)'\n' ? 1 : 0));
            await output.WriteLineAsync($"      {name,-20} {rows,8} rows");
            var content = new ByteArrayContent(bytes);
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
        http.Timeout = TimeSpan.FromMinutes(30);
        if (await TokenAsync(http) is { } token)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        await output.WriteLineAsync($"[2/3] Sending to {new Uri(arguments.Url, "/api/import")}");
        await output.WriteLineAsync("[3/3] Validating every row, then importing (nothing is written if a row is rejected)");
        var elapsed = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync("/api/import", form);
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"Could not reach the service at {arguments.Url}: {e.Message}");
            return 1;
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

    /// <summary>ALLOCATION_TOKEN, else a demo administrator's token when the service offers the demo sign-in.</summary>
    private static async Task<string?> TokenAsync(HttpClient http)
    {
        if (Environment.GetEnvironmentVariable("ALLOCATION_TOKEN") is { Length: > 0 } configured)
        {
            return configured;
        }

        try
        {
            using var response = await http.PostAsync("/api/demo/sign-in",
                new StringContent("""{"userId":"U-ADMIN"}""", System.Text.Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("accessToken").GetString();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
