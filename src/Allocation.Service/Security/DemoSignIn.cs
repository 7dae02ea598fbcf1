using Allocation.Grains;
using Allocation.Service.Api;
using Allocation.Service.Hosting;
using Allocation.Service.Seeding;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Security;

/// <summary>
/// The demo's sign-in: pick one of the seeded users and get a token for them, without a password. It exists only in
/// Development with no identity provider (<see cref="IdentitySetup.AddAllocationIdentity"/>); in Production these routes
/// do not exist. On PostgreSQL it would hand anyone the head of service's access to real data, so there it is refused
/// unless <see cref="AllowOnPostgreSQLSetting"/> is true (load tests on a throwaway database), and a warning naming the
/// risk is logged on every start while it is.
/// </summary>
public static partial class DemoSignIn
{
    /// <summary><c>DemoSignIn__AllowOnPostgreSQL=true</c>: the demo sign-in on a PostgreSQL store, for load tests only.</summary>
    public const string AllowOnPostgreSQLSetting = "DemoSignIn:AllowOnPostgreSQL";

    public const string RefusedRule = "demo-sign-in-refused-on-postgresql";

    public sealed record SignInBody(string UserId);

    public sealed record SignedIn(string AccessToken, DateTimeOffset ExpiresAt, DemoUser User);

    /// <summary>Whether the demo, where there is no identity provider, may sign its own tokens on this store.</summary>
    public static bool IsAllowed(IConfiguration configuration, StorageMode storage) =>
        !storage.IsPostgres || configuration.GetValue<bool>(AllowOnPostgreSQLSetting);

    public static IEndpointRouteBuilder MapDemoSignIn(this IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var storage = services.GetRequiredService<StorageMode>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DemoSignIn).FullName!);
        if (services.GetService<DemoTokens>() is null)
        {
            if (storage.IsPostgres && string.IsNullOrWhiteSpace(services.GetRequiredService<IOptions<IdentityProviderOptions>>().Value.Authority))
            {
                LogRefused(logger);
                app.MapMethods("/api/demo/{**rest}", [HttpMethods.Get, HttpMethods.Post], () => TypedResults.Problem(
                    "The demo sign-in is refused on PostgreSQL: it would let anyone act as any user of the data in this database " +
                    "without a password. Sign in through the identity provider (Identity__Authority, Identity__Audience); " +
                    "for a load test on a throwaway database only, set DemoSignIn__AllowOnPostgreSQL=true.",
                    statusCode: StatusCodes.Status403Forbidden, title: "Demo sign-in refused",
                    extensions: new Dictionary<string, object?> { ["rule"] = RefusedRule }))
                    .AllowAnonymous().ExcludeFromDescription();
            }

            return app;
        }

        if (storage.IsPostgres)
        {
            LogAllowedOnDatabase(logger);
        }

        var api = app.MapGroup("/api/demo").WithTags("Demo sign-in").AllowAnonymous();

        api.MapGet("/users", async (IHostEnvironment environment, IOptions<SeedingOptions> seeding, CancellationToken ct) =>
            TypedResults.Ok(await UsersAsync(environment, seeding.Value, ct)))
            .WithSummary("DEMO ONLY (Development): the seeded users one can sign in as.");

        api.MapPost("/sign-in", async Task<Results<Ok<SignedIn>, ProblemHttpResult>> (
            SignInBody body, DemoTokens tokens, IHostEnvironment environment, IOptions<SeedingOptions> seeding, CancellationToken ct) =>
        {
            if (Problems.Check(("userId", body.UserId, true)) is { } invalid)
            {
                return invalid;
            }

            if ((await UsersAsync(environment, seeding.Value, ct)).FirstOrDefault(u => u.Id == body.UserId) is not { } user)
            {
                return Problems.NotFound("demo user", body.UserId);
            }

            var (token, expiresAt) = tokens.Issue(user);
            return TypedResults.Ok(new SignedIn(token, expiresAt, user));
        }).WithSummary("DEMO ONLY (Development): a bearer token for a seeded user, signed with a key that lives as long as this process.");

        return app;
    }

    /// <summary>Every worker of the seed file (practice managers manage their own team) and its named users.</summary>
    public static async Task<IReadOnlyList<DemoUser>> UsersAsync(IHostEnvironment environment, SeedingOptions seeding, CancellationToken ct)
    {
        var demo = await DemoSeeder.ReadAsync(environment, seeding.File, ct);
        var teams = demo.Teams.ToDictionary(t => t.Id, t => t.Name);
        var users = (demo.Users ?? []).Select(u => new DemoUser(u.Id, u.Name, u.Roles, u.Teams ?? [], null, u.Description ?? string.Join(", ", u.Roles)));
        var workers = demo.Workers.Select(w => w.Role == WorkerRole.PracticeManager
            ? new DemoUser(w.Id, w.Name, [UserRole.PracticeManager], [w.TeamId], w.Id, $"Practice manager, {teams.GetValueOrDefault(w.TeamId, w.TeamId)}")
            : new DemoUser(w.Id, w.Name, [UserRole.SocialWorker], [], w.Id, $"{w.Role}, {teams.GetValueOrDefault(w.TeamId, w.TeamId)}"));
        return users.Concat(workers).ToList();
    }

    [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "DemoSignIn__AllowOnPostgreSQL=true: the demo sign-in is open on PostgreSQL. " +
        "Anyone who can reach this service can act as any user, the head of service included, without a password, and read and change " +
        "every child's record in this database. Use it only for load tests on a throwaway database.")]
    private static partial void LogAllowedOnDatabase(ILogger logger);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "No identity provider and the store is PostgreSQL: the demo sign-in is refused, so no one can sign in. " +
        "Set Identity__Authority and Identity__Audience (or, for a load test on a throwaway database only, DemoSignIn__AllowOnPostgreSQL=true).")]
    private static partial void LogRefused(ILogger logger);
}
