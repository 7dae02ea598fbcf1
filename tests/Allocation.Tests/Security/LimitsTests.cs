using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Tests.Infrastructure;
using RuleNames = Allocation.Grains.Rules;

namespace Allocation.Tests.Security;

/// <summary>No command grows the append-only trail or a grain's state without bound.</summary>
[Collection(AppCollection.Name)]
public sealed class LimitsTests(AppFactory factory)
{
    private readonly string _p = "lim" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task An_overlong_override_reason_is_refused_and_audited_cut_to_the_limit()
    {
        using var http = factory.CreateClient();
        (await http.PutAsJsonAsync($"/api/teams/{_p}-t", new { name = "Limits" })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/api/workers/{_p}-w", new { name = "W", teamId = _p + "-t", role = "SocialWorker", fte = 1.0 })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/api/children/{_p}-c/refer", new { requestId = "r1", teamId = _p + "-t" })).EnsureSuccessStatusCode();
        var reason = new string('x', 100_000);

        using var response = await http.PostAsJsonAsync($"/api/children/{_p}-c/allocate",
            new { requestId = "r2", workerId = _p + "-w", @override = new { by = "x", reason } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var entries = await http.GetFromJsonAsync<JsonElement>($"/api/audit?childId={_p}-c");
        var refused = entries.EnumerateArray().Single(e => e.GetProperty("requestId").GetString() == "r2");
        Assert.Equal(500, refused.GetProperty("overrideReason").GetString()!.Length);
    }

    [Fact]
    public async Task A_childs_transfers_and_a_workers_absences_stop_at_their_caps()
    {
        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        var s = new Scenario(grains);
        var a = await s.Team("a");
        var b = await s.Team("b");
        var worker = await s.Worker("w", a);
        var child = await s.Referred("c", a);
        for (var i = 0; i < AllocationRules.MaxTransfers; i++)
        {
            Assert.Null((await s.Child(child).Transfer(new TransferChild(s.NewRequestId(), i % 2 == 0 ? b : a, "moved", "pm"))).Refusal);
        }

        // Leave to come (each a reminder within the next few weeks), so no child moves while the test runs.
        var future = DateTimeOffset.UtcNow.AddDays(7);
        for (var i = 0; i < AllocationRules.MaxAbsences; i++)
        {
            var from = future.AddHours(i);
            Assert.Null((await s.WorkerGrain(worker).StartAbsence(new StartAbsence(s.NewRequestId(), from, from.AddMinutes(30), "leave"))).Refusal);
        }

        var transfer = await s.Child(child).Transfer(new TransferChild(s.NewRequestId(), a, "once more", "pm"));
        var absence = await s.WorkerGrain(worker).StartAbsence(new StartAbsence(s.NewRequestId(), future.AddDays(20), null, "leave"));

        Assert.Equal((RuleNames.RecordFull, RuleNames.RecordFull), (transfer.Refusal?.Rule, absence.Refusal?.Rule));
        Assert.Equal(AllocationRules.MaxTransfers, (await s.View(child)).TransferPoints);
        Assert.Equal(AllocationRules.MaxAbsences, (await s.WorkerView(worker)).Absences.Count);
    }
}
