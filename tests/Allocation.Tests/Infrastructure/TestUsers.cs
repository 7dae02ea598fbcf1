using Allocation.Service.Security;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Allocation.Tests.Infrastructure;

/// <summary>Users for tests, signed with the host's own demo key (Development, no identity provider).</summary>
public static class TestUsers
{
    /// <summary>The default user of <c>CreateClient()</c>: a senior leader who is also an administrator, so the tests
    /// that are not about access can set up teams and workers and run every command.</summary>
    public static readonly DemoUser Superuser = new("U-TEST", "Test leader and administrator",
        [UserRole.SeniorLeader, UserRole.Administrator], [], null, "tests");

    public static readonly DemoUser Leader = new("U-LEAD", "Test leader", [UserRole.SeniorLeader], [], null, "tests");

    public static readonly DemoUser Administrator = new("U-ADMIN-T", "Test administrator", [UserRole.Administrator], [], null, "tests");

    public static DemoUser Manager(string id, params string[] teams) => new(id, "Test manager", [UserRole.PracticeManager], teams, id, "tests");

    public static DemoUser Worker(string workerId) => new(workerId, "Test worker", [UserRole.SocialWorker], [], workerId, "tests");

    public static DemoUser Of(UserRole role, string teamId, string workerId) => role switch
    {
        UserRole.SocialWorker => Worker(workerId),
        UserRole.PracticeManager => Manager("U-PM-" + teamId, teamId),
        UserRole.SeniorLeader => Leader,
        _ => Administrator,
    };

    public static string Token(this WebApplicationFactory<Program> factory, DemoUser user) =>
        factory.Services.GetRequiredService<DemoTokens>().Issue(user).Token;

    /// <summary>A client of the in-memory test server signed in as <paramref name="user"/>.</summary>
    public static HttpClient CreateClientAs(this WebApplicationFactory<Program> factory, DemoUser user)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", factory.Token(user));
        return client;
    }
}
