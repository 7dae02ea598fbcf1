using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.LoadTests.Faults;

/// <summary>An answer the service gave and stands by: a success, or a refusal it would give again.</summary>
public sealed record Answer(int Status, JsonElement Body, int Attempts)
{
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>The service answered this retry from the first attempt's result (the command was applied before).</summary>
    public bool Replayed => Ok && Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("replayed", out var r) && r.ValueKind == JsonValueKind.True;
}

/// <summary>What the client saw while faults were injected: answers lost, 503s, and requests that ran past their timeout.</summary>
public sealed class ClientTally
{
    private long _lost, _unavailable, _serverErrors, _hung, _signIns;
    private long _maxAnsweredMs;

    public long LostAnswers => Interlocked.Read(ref _lost);
    public long Unavailable => Interlocked.Read(ref _unavailable);
    public long ServerErrors => Interlocked.Read(ref _serverErrors);
    public long Hung => Interlocked.Read(ref _hung);
    public long SignIns => Interlocked.Read(ref _signIns);

    /// <summary>The slowest answer of any kind (including 503s) the service gave.</summary>
    public long MaxAnsweredMs => Interlocked.Read(ref _maxAnsweredMs);

    /// <summary>5xx answers other than 503, with their bodies (a few).</summary>
    public List<string> ServerErrorSamples { get; } = [];

    /// <summary>503 answers whose problem document does not ask for a retry with the same requestId (a few).</summary>
    public List<string> UnhelpfulUnavailable { get; } = [];

    internal void Lost() => Interlocked.Increment(ref _lost);
    internal void Hang() => Interlocked.Increment(ref _hung);
    internal void SignedIn() => Interlocked.Increment(ref _signIns);

    internal void Answered(long ms)
    {
        long seen;
        while (ms > (seen = Interlocked.Read(ref _maxAnsweredMs)) && Interlocked.CompareExchange(ref _maxAnsweredMs, ms, seen) != seen)
        {
        }
    }

    internal void ServiceUnavailable(string body)
    {
        Interlocked.Increment(ref _unavailable);
        if (!body.Contains("same requestId", StringComparison.OrdinalIgnoreCase))
        {
            lock (UnhelpfulUnavailable)
            {
                if (UnhelpfulUnavailable.Count < 5)
                {
                    UnhelpfulUnavailable.Add(body);
                }
            }
        }
    }

    internal void ServerError(string sample)
    {
        Interlocked.Increment(ref _serverErrors);
        lock (ServerErrorSamples)
        {
            if (ServerErrorSamples.Count < 5)
            {
                ServerErrorSamples.Add(sample);
            }
        }
    }
}

/// <summary>
/// A signed-in client of a service that may be killed, restarted or cut off from its database at any moment. A command
/// whose answer is lost (connection refused or reset, a timeout, 503, any other 5xx) is sent again with the same body,
/// and so the same request id, until the service gives an answer it stands by; a 401 (the demo's signing key is made
/// at start-up, so a restart voids every token) signs in again first.
/// </summary>
public sealed class CommandClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _userId;
    private readonly SemaphoreSlim _signIn = new(1, 1);
    private string? _token;

    public CommandClient(Uri url, string userId, ClientTally tally, TimeSpan? requestTimeout = null)
    {
        _userId = userId;
        Tally = tally;
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(40);
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 256,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            // A restarted service is a new server: do not keep sending on connections to the dead one.
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = url,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public ClientTally Tally { get; }

    /// <summary>How long one attempt may take before it counts as hung (longer than any timeout of the service's own).</summary>
    public TimeSpan RequestTimeout { get; }

    /// <summary>How long a command is retried before it is given up as unresolved.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromMinutes(3);

    public HttpClient Http => _http;

    public Task<Answer> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct = default) =>
        SendAsync(method, path, body is null ? null : JsonSerializer.SerializeToUtf8Bytes(body, Json.Options), ct);

    public async Task<Answer> SendAsync(HttpMethod method, string path, byte[]? body, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            var (status, text) = await OnceAsync(method, path, body, ct);
            if (status is not null and not (>= 500 or 401 or 429))
            {
                return new Answer(status.Value, Parse(text), attempt);
            }

            if (status == 401)
            {
                await SignInAsync(ct);
            }
            else if (status == 503)
            {
                Tally.ServiceUnavailable(text);
            }
            else if (status >= 500)
            {
                Tally.ServerError($"{method} {path}: {status} {text}");
            }

            if (status != 401)
            {
                Tally.Lost();
            }

            if (clock.Elapsed > GiveUpAfter)
            {
                throw new TimeoutException($"{method} {path}: no answer the service stands by after {attempt} attempts in {clock.Elapsed.TotalSeconds:0} s (last: {status?.ToString() ?? "no answer"} {text})");
            }

            await Task.Delay(delay, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
        }
    }

    public async Task<JsonElement> GetAsync(string path, CancellationToken ct = default)
    {
        var answer = await SendAsync(HttpMethod.Get, path, (byte[]?)null, ct);
        return answer.Ok ? answer.Body : throw new HttpRequestException($"GET {path}: {answer.Status} {answer.Body}", null, (HttpStatusCode)answer.Status);
    }

    /// <summary>One attempt: the status and body, or a null status when no answer came (refused, reset, timed out).</summary>
    public async Task<(int? Status, string Text)> OnceAsync(HttpMethod method, string path, byte[]? body, CancellationToken ct,
        AuthenticationHeaderValue? authorization = null, bool anonymous = false)
    {
        if (_token is null && !anonymous && authorization is null)
        {
            await SignInAsync(ct);
        }

        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        }

        request.Headers.Authorization = authorization ?? (anonymous || _token is null ? null : new AuthenticationHeaderValue("Bearer", _token));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            Tally.Answered(clock.ElapsedMilliseconds);
            return ((int)response.StatusCode, text);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Tally.Hang();
            return (null, $"no answer within {RequestTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            return (null, ex.Message);
        }
    }

    private async Task SignInAsync(CancellationToken ct)
    {
        var stale = _token;
        await _signIn.WaitAsync(ct);
        try
        {
            // Another request signed in again while this one waited.
            if (_token != stale && _token is not null)
            {
                return;
            }

            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var response = await _http.PostAsJsonAsync("/api/demo/sign-in", new { userId = _userId }, ct);
                    if (response.IsSuccessStatusCode)
                    {
                        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                        _token = answer.RootElement.GetProperty("accessToken").GetString();
                        Tally.SignedIn();
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Down or restarting.
                }

                if (attempt > 600)
                {
                    throw new TimeoutException($"Could not sign in as {_userId}.");
                }

                await Task.Delay(200, ct);
            }
        }
        finally
        {
            _signIn.Release();
        }
    }

    private static JsonElement Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _signIn.Dispose();
    }
}
