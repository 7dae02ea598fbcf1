using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.LoadTests;

public enum Expect
{
    Success,
    CeilingRefusal,
}

public enum Outcome
{
    NotSent,
    Ok,
    RefusedAsExpected,
    Error,
}

/// <summary>One request of a schedule. <paramref name="After"/> are earlier steps it needs answered first
/// (a child is referred before it is allocated).</summary>
public sealed record Step(string Kind, string Path, object Body, Expect Expect, int[] After);

/// <summary><paramref name="Uncertain"/>: no answer, or a 5xx; the service may still have applied the request.</summary>
public sealed record StepResult(Outcome Outcome, long LatencyMicros = 0, string? Error = null, bool Uncertain = false);

/// <summary>
/// Sends step i at start + i/rate whether or not earlier steps have been answered (open loop), and measures each
/// latency from the step's scheduled time, so a slow service shows up as latency instead of as a lower request rate.
/// </summary>
public static class OpenLoop
{
    public const string CeilingRule = "caseload-ceiling";

    public static async Task<(StepResult[] Results, TimeSpan Elapsed, TimeSpan MaxSendLag)> Run(
        HttpClient http, IReadOnlyList<Step> steps, double rate, TimeSpan duration)
    {
        var results = new StepResult[steps.Count];
        Array.Fill(results, new StepResult(Outcome.NotSent));
        var running = new Task[steps.Count];
        var maxLag = TimeSpan.Zero;
        var start = Stopwatch.GetTimestamp();

        for (var i = 0; i < steps.Count; i++)
        {
            var offset = TimeSpan.FromSeconds(i / rate);
            if (offset >= duration)
            {
                break;
            }

            var due = start + (long)(offset.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            // Timers round to whole milliseconds and may wake a little early: the clock then starts at dispatch,
            // so a latency is never shorter than the request really took.
            var now = Stopwatch.GetTimestamp();
            var from = Math.Min(due, now);
            var lag = Stopwatch.GetElapsedTime(due, now);
            maxLag = lag > maxLag ? lag : maxLag;
            var step = steps[i];
            var index = i;
            var prerequisites = step.After.Select(j => running[j]).ToArray();
            running[i] = Task.Run(async () => results[index] = await Send(http, step, from, prerequisites, results));
        }

        await Task.WhenAll(running.Where(t => t is not null));
        return (results, Stopwatch.GetElapsedTime(start), maxLag);
    }

    private static async Task<StepResult> Send(HttpClient http, Step step, long since, Task[] prerequisites, StepResult[] results)
    {
        await Task.WhenAll(prerequisites);
        if (step.After.Any(j => results[j].Outcome is not (Outcome.Ok or Outcome.RefusedAsExpected)))
        {
            return new StepResult(Outcome.Error, Error: "skipped: an earlier step it needs failed");
        }

        try
        {
            using var response = await http.PostAsJsonAsync(step.Path, step.Body, Json.Options);
            var body = await response.Content.ReadAsStringAsync();
            var micros = (long)Stopwatch.GetElapsedTime(since).TotalMicroseconds;
            var rule = response.IsSuccessStatusCode ? null : RuleOf(body);
            var outcome = (step.Expect, (int)response.StatusCode, rule) switch
            {
                (Expect.Success, >= 200 and < 300, _) => Outcome.Ok,
                (Expect.CeilingRefusal, 409, CeilingRule) => Outcome.RefusedAsExpected,
                _ => Outcome.Error,
            };
            return new StepResult(outcome, micros, outcome == Outcome.Error ? $"{(int)response.StatusCode} {rule ?? "(no rule)"} (expected {step.Expect})" : null,
                Uncertain: (int)response.StatusCode >= 500);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return new StepResult(Outcome.Error, (long)Stopwatch.GetElapsedTime(since).TotalMicroseconds, ex.GetType().Name + ": " + ex.Message, Uncertain: true);
        }
    }

    private static string? RuleOf(string problem)
    {
        try
        {
            using var doc = JsonDocument.Parse(problem);
            return doc.RootElement.TryGetProperty("rule", out var rule) ? rule.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
