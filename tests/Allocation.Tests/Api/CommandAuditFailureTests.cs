using System.Net;
using Allocation.Service.Audit;
using Allocation.Service.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Allocation.Tests.Api;

/// <summary>
/// A command that fails for a reason worth a retry (the database away, a silo gone) while its audit entry cannot be
/// written either: the answer is decided by the command's failure (503, retry with the same requestId), not by the
/// audit trail's, whatever that one is.
/// </summary>
public class CommandAuditFailureTests
{
    [Fact]
    public async Task A_command_failing_for_want_of_the_database_answers_503_even_when_its_audit_entry_fails_otherwise()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ErrorResponses.Describe);
        builder.Services.AddSingleton<IAuditTrail, RefusingAuditTrail>();
        await using var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = ErrorResponses.StatusCodeFor });
        app.MapPost("/command", IResult () => throw new Orleans.Runtime.OrleansException("Error from storage provider",
            new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432"))).Audited("test.command");
        await app.StartAsync();

        using var response = await app.GetTestClient().PostAsync("/command", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("same requestId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private sealed class RefusingAuditTrail : IAuditTrail
    {
        public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("The audit trail is shutting down.");

        public Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<AuditEntry>>([]);
    }
}
