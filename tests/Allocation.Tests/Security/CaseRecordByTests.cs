using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Security;

/// <summary>Who changed a case record is the signed-in user, whatever the body says.</summary>
[Collection(AppCollection.Name)]
public sealed class CaseRecordByTests(AppFactory factory)
{
    private readonly string _p = "cr" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task A_by_in_the_body_is_replaced_by_the_signed_in_user()
    {
        using var admin = factory.CreateClient();
        (await admin.PutAsJsonAsync($"/api/teams/{_p}-t", new { name = "Records" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync($"/api/children/{_p}-c/refer", new { requestId = "r1", teamId = _p + "-t" })).EnsureSuccessStatusCode();
        using var manager = factory.CreateClientAs(TestUsers.Manager(_p + "-pm", _p + "-t"));

        var answer = await ApiCalls.Send(manager, HttpMethod.Put, $"/api/children/{_p}-c/case-record",
            new { requestId = "cr-1", record = new { plan = "ChildInNeed", planStartedOn = "2026-06-02" }, by = "U-SOMEONE-ELSE" });

        // The receipt is bound to its user: with the body's 'by', that user's retries would be answered instead.
        Assert.Equal(_p + "-pm", answer.GetProperty("receipt").GetProperty("by").GetString());
    }
}
