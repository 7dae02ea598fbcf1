using Allocation.Grains;
using Allocation.Service.Api;
using Allocation.Service.Seeding;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Allocation.Service.Security;

/// <summary>
/// The demo's sign-in: pick one of the seeded users and get a token for them. Mapped only when the demo signs its own
/// tokens, which is only ever in Development (<see cref="IdentitySetup.AddAllocationIdentity"/>); in Production these
/// routes do not exist.
/// </summary>
public static class DemoSignIn
{
    public sealed record SignInBody(string UserId);

    public sealed record SignedIn(string AccessToken, DateTimeOffset ExpiresAt, DemoUser User);

    public static IEndpointRouteBuilder MapDemoSignIn(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetService<DemoTokens>() is null)
        {
            return app;
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
}
