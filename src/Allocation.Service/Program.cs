using System.Text.Json.Serialization;
using Allocation.Service.Api;
using Allocation.Service.Audit;
using Allocation.Service.Hosting;
using Allocation.Service.Hubs;
using Allocation.Service.Import;
using Allocation.Service.Jobs;
using Allocation.Service.Security;
using Allocation.Service.Seeding;
using Scalar.AspNetCore;

// `import <folder>`: a client of a running service, so no web host of its own.
if (args is ["import", .. var importArgs])
{
    Environment.ExitCode = await ImportCommand.RunAsync(importArgs, Console.Out, Console.Error);
    return;
}

// An environment or address the reader sets is the one that runs; `dotnet run` alone gives the demo (LaunchDefaults).
var builder = WebApplication.CreateBuilder(LaunchDefaults.Options(args)).UseLaunchDefaultUrls();

var storage = StorageMode.From(builder.Configuration, builder.Environment);
builder.AddAllocationSilo(storage);
builder.Services.AddAllocationHealthChecks(storage);
builder.AddAllocationIdentity(storage);
builder.AddAllocationTelemetry();
builder.Services.AddAuditTrail(storage);
builder.Services.AddSingleton<ImportProgress>();
builder.Services.AddDemoSeeding(storage);
// After seeding: the demo's first threshold report runs over the seeded authority.
builder.AddNightlyChecks(storage);
builder.Services.AddSignalR().AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter()));
// After the silo: the observer registers with a grain.
builder.Services.AddHostedService<BoardObserverRegistration>();
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ErrorResponses.Describe);
builder.Services.AddOpenApi(o => o.AddBearerSecurity());
builder.Services.AddAllocationRateLimits();
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
    // A body missing a required field is malformed (400), not a command with nulls in it.
    o.SerializerOptions.RespectNullableAnnotations = true;
    o.SerializerOptions.RespectRequiredConstructorParameters = true;
});

var app = builder.Build();

if (!storage.IsPostgres)
{
    app.Logger.LogWarning("Embedded mode: memory storage and in-memory reminders. NOTHING IS PERSISTED; set ConnectionStrings__Allocation for PostgreSQL.");
}

app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = ErrorResponses.StatusCodeFor });
app.UseStatusCodePages();
app.UseSecurityHeaders();
if (!app.Environment.IsDevelopment())
{
    app.UseHsts();
}

app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAntiForgeryHeader();
app.UseAuthorization();
// After authorization: the limits are per signed-in user.
app.UseRateLimiter();

// The API's description is public; what it describes is not.
app.MapOpenApi().AllowAnonymous();
app.MapScalarApiReference("/api-docs").AllowAnonymous();
app.MapDemoSignIn();
app.MapPageSignIn();
app.MapAllocationHealthChecks();
app.MapTeamsApi();
app.MapWorkersApi();
app.MapChildrenApi();
app.MapAdviceApi();
app.MapCaseRecordsApi();
app.MapReportsApi();
app.MapImportApi();
app.MapAuditApi();
app.MapGet("/api/me", (HttpContext http) => TypedResults.Ok(http.User.Allocation()))
    .RequireAuthorization(Policies.SignedIn).WithTags("Identity").WithSummary("The signed-in user: id, roles, teams, worker id.");
app.MapNightlyChecksDashboard();
app.MapAllocationTelemetry(storage);
// A connection lives no longer than its token: the user's roles and teams are the token's.
app.MapHub<BoardsHub>("/hubs/boards", o => o.CloseOnAuthenticationExpiration = true);

app.Run();

public partial class Program;
