using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Allocation.LoadTests.Faults;

/// <summary>One hostile request and what became of it.</summary>
public sealed record HostileRequest(string Kind, HttpMethod Method, string Path, byte[]? Body, string ContentType, string? Token)
{
    public override string ToString() => $"{Kind}: {Method} {Path[..Math.Min(Path.Length, 120)]}";
}

/// <param name="RejectedByServer">400s with no body at all: Kestrel refuses a request target it cannot decode (a NUL byte)
/// before any of the application runs, so nothing of ours can answer it, and nothing of ours saw it.</param>
public sealed record HostileReport(
    int Sent, int Endpoints, int Refused, int Accepted, int ServerErrors, int NotProblemDocuments, int RejectedByServer, int RefusedCoveredByStateCheck,
    int StateChangedByRefused, IReadOnlyDictionary<string, int> ByStatus, IReadOnlyList<string> Failures)
{
    public bool Pass => ServerErrors == 0 && NotProblemDocuments == 0 && StateChangedByRefused == 0 && Failures.Count == 0;

    public override string ToString() =>
        $"{Sent} requests over {Endpoints} endpoints: {Refused} refused, {Accepted} accepted, {ServerErrors} × 5xx, {NotProblemDocuments} refusals not a problem document " +
        $"({RejectedByServer} refused by Kestrel before the application, with no body), " +
        $"{StateChangedByRefused} batches of refusals that changed state ({RefusedCoveredByStateCheck} refusals covered by the state check); " +
        string.Join(", ", ByStatus.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")) +
        (Failures.Count == 0 ? "" : "\n  " + string.Join("\n  ", Failures.Take(20)));
}

/// <summary>
/// Requests made from the service's own <c>/openapi/v1.json</c>, across every operation it describes: bodies with wrong
/// types, missing and extra fields, huge strings and numbers, control characters, bodies that are not JSON or not JSON
/// objects; bad, unknown and huge ids in the path; wrong query values; no token, a forged token, a token of a role not
/// allowed; and request ids replayed with another body. Every answer must be below 500 and every refusal a problem
/// document; requests go in batches of one kind, and the stored state (every table but the audit trail, which records
/// refusals, and the cluster's own membership) is compared before and after each batch: a batch whose requests were
/// all refused must leave it unchanged.
/// </summary>
public sealed class HostileInput
{
    private static readonly string[] BadIds =
    [
        "a b", "..", "%2E%2E%2Fadmin", new string('x', 5000), "%00", "%E2%80%AE", "%C3%BC", "'%3B drop table x%3B--", "%F0%9F%92%A9", "-", "..%5C..%5C",
    ];

    private static readonly JsonNode?[] WrongValues =
    [
        null, 0, -1, 1.5, 1e308, -1e308, decimal.MaxValue, long.MinValue, true, "", " ", new string('x', 200_000), "\u0000\u0007\u001b[31m\r\n\t",
        "\ud800", "2026-13-45", "9999-12-31T23:59:59Z", new JsonArray(1, "a"), new JsonObject { ["a"] = 1 },
    ];

    private readonly JsonObject _document;
    private readonly Dictionary<string, string> _tokens;
    private readonly Func<string, string> _validId;
    private readonly Random _random = new(12);
    private int _requestId;

    /// <param name="validId">For a path or body field name (teamId, workerId, childId…), an id of an entity that exists.</param>
    public HostileInput(JsonObject document, Dictionary<string, string> tokens, Func<string, string> validId)
    {
        _document = document;
        _tokens = tokens;
        _validId = validId;
    }

    public int Endpoints => Operations().Count();

    /// <summary>The requests, in batches of one kind, about <paramref name="count"/> in all.</summary>
    public List<List<HostileRequest>> Generate(int count)
    {
        var all = new List<List<HostileRequest>>();
        var operations = Operations().ToList();
        var round = 0;
        while (all.Sum(b => b.Count) < count)
        {
            foreach (var (path, method, operation) in operations)
            {
                all.AddRange(ForOperation(path, method, operation, round).Select(b => b.ToList()).Where(b => b.Count > 0));
            }

            round++;
        }

        var total = 0;
        return all.TakeWhile(b => (total += b.Count) - b.Count < count).ToList();
    }

    private IEnumerable<(string Path, HttpMethod Method, JsonObject Operation)> Operations()
    {
        foreach (var (path, item) in _document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "get" or "post" or "put" or "delete" or "patch")
                {
                    yield return (path, new HttpMethod(method.ToUpperInvariant()), operation!.AsObject());
                }
            }
        }
    }

    private IEnumerable<IEnumerable<HostileRequest>> ForOperation(string template, HttpMethod method, JsonObject operation, int round)
    {
        var parameters = (operation["parameters"] as JsonArray ?? []).Select(p => p!.AsObject()).ToList();
        var pathParameters = parameters.Where(p => (string?)p["in"] == "path").Select(p => (string)p["name"]!).ToList();
        var query = parameters.Where(p => (string?)p["in"] == "query").ToList();
        var schema = BodySchema(operation, out var contentType);
        var token = _tokens["leader"];
        string Path(Func<string, string>? id = null) =>
            pathParameters.Aggregate(template, (p, name) => p.Replace("{" + name + "}", (id ?? _validId)(name), StringComparison.Ordinal));

        // Bad ids in each path parameter.
        foreach (var name in pathParameters)
        {
            yield return BadIds.Select(bad => Request("bad id", method, Path(n => n == name ? bad : _validId(n)), Valid(schema), token))
                .Append(Request("unknown id", method, Path(n => n == name ? $"unknown-{round}-{n}" : _validId(n)), Valid(schema), token));
        }

        // Wrong query values.
        if (query.Count > 0)
        {
            yield return query.SelectMany(q => new[] { "x", "-1", "99999999999999999999", new string('9', 5000), "%00", "2026-02-30" }
                .Select(v => Request("bad query", method, $"{Path()}?{q["name"]}={v}", Valid(schema), token)));
        }

        // Tokens: none, forged, tampered, of a role not allowed.
        yield return new[]
        {
            Request("no token", method, Path(), Valid(schema), null),
            Request("forged token", method, Path(), Valid(schema), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJVLUhPUyJ9."),
            Request("tampered token", method, Path(), Valid(schema), token[..^4] + "AAAA"),
            Request("garbage token", method, Path(), Valid(schema), new string('A', 9000)),
            Request("other role", method, Path(), Valid(schema), _tokens["worker"]),
        };

        if (schema is null)
        {
            if (method != HttpMethod.Get)
            {
                yield return [Request("unexpected body", method, Path(), "{\"a\":1}"u8.ToArray(), token)];
            }

            yield break;
        }

        if (contentType != "application/json")
        {
            // Multipart (the import): JSON and garbage instead of files.
            yield return new[] { "{}", "--x\r\n", "" }.Select(b => Request("not multipart", method, Path(), Encoding.UTF8.GetBytes(b), token));
            yield break;
        }

        // Bodies that are not a JSON object, or not JSON.
        yield return new[] { "", "{", "null", "[]", "\"text\"", "12", "<xml/>", "{\"a\":", new string('[', 10_000) }
            .Select(b => Request("not a JSON object", method, Path(), Encoding.UTF8.GetBytes(b), token))
            .Append(Request("wrong content type", method, Path(), Valid(schema), token) with { ContentType = "text/plain" });

        var properties = Properties(schema);
        var required = (Resolve(schema)?["required"] as JsonArray ?? []).Select(r => (string)r!).ToList();

        // Each required field missing, each field a wrong value, extra fields.
        yield return required.Select(r => Request("missing field", method, Path(), Mutate(schema, o => o.Remove(r)), token));
        yield return properties.SelectMany(p => WrongValues.Where((_, i) => (i + round) % 3 == 0 || round == 0)
            .Select(v => Request("wrong value", method, Path(), Mutate(schema, o => o[p.Key] = v?.DeepClone()), token)));
        yield return [Request("extra fields", method, Path(), Mutate(schema, o => { o["extra"] = "x"; o["__proto__"] = new JsonObject(); }), token)];

        // A request id replayed with another body: the first is sent on its own (it may be applied), then the replays.
        if (properties.ContainsKey("requestId") && method == HttpMethod.Post)
        {
            var first = Valid(schema);
            var id = (string)JsonNode.Parse(first)!["requestId"]!;
            yield return [Request("replay: first", method, Path(), first, token)];
            yield return properties.Keys.Where(k => k is not "requestId")
                .Select(k => Request("replayed request id, other body", method, Path(), Mutate(schema, o =>
                {
                    o["requestId"] = id;
                    o[k] = o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s + "-other" : "other";
                }), token));
        }
    }

    private HostileRequest Request(string kind, HttpMethod method, string path, byte[]? body, string? token) =>
        new(kind, method, path, method == HttpMethod.Get ? null : body, "application/json", token);

    private byte[]? Valid(JsonObject? schema) => schema is null ? null : JsonSerializer.SerializeToUtf8Bytes(Build(schema, 0));

    private byte[] Mutate(JsonObject? schema, Action<JsonObject> change)
    {
        var body = Build(schema!, 0) as JsonObject ?? [];
        change(body);
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>A plausible value for the schema: ids that exist, fresh request ids, short text.</summary>
    private JsonNode? Build(JsonObject schema, int depth, string? name = null)
    {
        var s = Resolve(schema)!;
        if (s["enum"] is JsonArray values && values.Count > 0)
        {
            return values[0]!.DeepClone();
        }

        var types = s["type"] switch
        {
            JsonArray a => a.Select(t => (string)t!).ToList(),
            JsonValue v => [(string)v!],
            _ => s["properties"] is not null ? ["object"] : [],
        };
        if (s["oneOf"] is JsonArray || s["anyOf"] is JsonArray)
        {
            var first = ((s["oneOf"] ?? s["anyOf"]) as JsonArray)!.Select(o => o!.AsObject()).FirstOrDefault(o => (string?)Resolve(o)?["type"] != "null");
            return first is null ? null : Build(first, depth, name);
        }

        if (types.Contains("object") && depth < 3)
        {
            var o = new JsonObject();
            foreach (var (key, value) in Properties(s))
            {
                o[key] = Build(value, depth + 1, key);
            }

            return o;
        }

        if (types.Contains("integer") || types.Contains("number"))
        {
            return 1;
        }

        if (types.Contains("boolean"))
        {
            return false;
        }

        if (types.Contains("array"))
        {
            return new JsonArray();
        }

        return name switch
        {
            "requestId" => $"hostile-{Interlocked.Increment(ref _requestId)}",
            not null when name.EndsWith("Id", StringComparison.Ordinal) => _validId(name),
            _ when (string?)s["format"] == "date" => "2026-11-23",
            _ when (string?)s["format"] == "date-time" => "2026-11-23T10:00:00Z",
            _ => "Hostile input",
        };
    }

    private Dictionary<string, JsonObject> Properties(JsonObject? schema) =>
        (Resolve(schema)?["properties"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value!.AsObject());

    private JsonObject? Resolve(JsonObject? schema)
    {
        for (var i = 0; schema?["$ref"] is JsonValue reference && i < 10; i++)
        {
            schema = _document["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!.AsObject();
        }

        return schema;
    }

    private static JsonObject? BodySchema(JsonObject operation, out string contentType)
    {
        contentType = "";
        if (operation["requestBody"]?["content"] is not JsonObject content || content.Count == 0)
        {
            return null;
        }

        var (type, media) = content.First();
        contentType = type;
        return media?["schema"] as JsonObject ?? [];
    }

    /// <summary>Sends the batches, comparing the stored state around each, and checks every answer.</summary>
    public static async Task<HostileReport> RunAsync(HttpClient http, List<List<HostileRequest>> batches, int endpoints, string connectionString,
        Action<string> log, int concurrency = 8)
    {
        var byStatus = new Dictionary<string, int>();
        var failures = new List<string>();
        int sent = 0, refused = 0, accepted = 0, serverErrors = 0, notProblems = 0, byServer = 0, covered = 0, changed = 0;
        foreach (var batch in batches)
        {
            // A nightly run queued by an accepted POST /api/reports/run in an earlier batch saves its reports whenever
            // Hangfire gets to it: the state is compared only with no job waiting or running.
            await JobsSettledAsync(connectionString);
            var before = await FingerprintAsync(connectionString);
            var answers = new (int Status, string? MediaType, string Body)[batch.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            {
                var r = batch[i];
                using var request = new HttpRequestMessage(r.Method, r.Path);
                if (r.Body is not null)
                {
                    request.Content = new ByteArrayContent(r.Body) { Headers = { ContentType = MediaTypeHeaderValue.Parse(r.ContentType) } };
                }

                if (r.Token is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + r.Token);
                }

                try
                {
                    using var response = await http.SendAsync(request, ct);
                    answers[i] = ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(ct));
                }
                catch (HttpRequestException ex)
                {
                    answers[i] = (0, null, ex.Message);
                }
            });

            var after = await FingerprintAsync(connectionString);
            var anyAccepted = false;
            for (var i = 0; i < batch.Count; i++)
            {
                var (status, media, body) = answers[i];
                sent++;
                var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                byStatus[key] = byStatus.GetValueOrDefault(key) + 1;
                if (status is >= 200 and < 400)
                {
                    accepted++;
                    anyAccepted |= batch[i].Method != HttpMethod.Get;
                    continue;
                }

                refused++;
                if (status is >= 500 or 0)
                {
                    serverErrors++;
                    failures.Add($"{batch[i]}: {status} {Short(body)}");
                }
                else if (status == 400 && media is null && body.Length == 0)
                {
                    byServer++;
                }
                else if (!IsProblem(status, media, body))
                {
                    notProblems++;
                    failures.Add($"{batch[i]}: {status} answered with {media ?? "no body"} {Short(body)}, not a problem document");
                }
            }

            if (!anyAccepted)
            {
                covered += batch.Count;
                if (before != after)
                {
                    changed++;
                    failures.Add($"{batch[0].Kind} batch ({batch.Count} requests, all refused, from {batch[0]}) changed the stored state");
                }
            }

            if (sent % 1000 < batch.Count)
            {
                log($"hostile: {sent} sent, {serverErrors} × 5xx, {notProblems} not problem documents");
            }
        }

        return new HostileReport(sent, endpoints, refused, accepted, serverErrors, notProblems, byServer, covered, changed, byStatus, failures);

        static string Short(string body) => body.Length > 300 ? body[..300] + "…" : body;
    }

    private static bool IsProblem(int status, string? media, string body)
    {
        if (media != "application/problem+json")
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("status", out var s) && s.GetInt32() == status && document.RootElement.TryGetProperty("title", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Waits (up to a minute) until no Hangfire job is enqueued or processing.</summary>
    public static async Task JobsSettledAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var exists = new NpgsqlCommand("select to_regclass('hangfire.job') is not null", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync())!)
            {
                return;
            }
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            await using var pending = new NpgsqlCommand("select exists (select 1 from hangfire.job where statename in ('Enqueued', 'Processing'))", connection);
            if (!(bool)(await pending.ExecuteScalarAsync())!)
            {
                return;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>A digest of every stored row but the audit trail's and the cluster membership's (the silo's heartbeat).</summary>
    public static async Task<string> FingerprintAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("""
            select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables
            where table_type = 'BASE TABLE' and table_schema = 'public'
              and table_name not like 'orleansmembership%' and table_name not like '%audit%'
            order by 1
            """, connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var digest = new StringBuilder();
        foreach (var table in tables)
        {
            await using var hash = new NpgsqlCommand($"select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from {table} t", connection);
            digest.Append(table).Append('=').Append(await hash.ExecuteScalarAsync()).Append(';');
        }

        return digest.ToString();
    }
}
