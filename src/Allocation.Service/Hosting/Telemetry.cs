using Allocation.Service.Audit;
using Allocation.Service.Hubs;
using Allocation.Service.Persistence;
using Allocation.Service.Security;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;

namespace Allocation.Service.Hosting;

/// <summary>
/// OpenTelemetry: the service's own instruments (<see cref="CommandMetrics"/>, <see cref="BoardMetrics"/>,
/// <see cref="StorageMetrics"/>, <see cref="MemoryMetrics"/>), the runtime's, ASP.NET Core's and Orleans', scraped by Prometheus at <c>/metrics</c>
/// (administrators only). With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, metrics and traces (ASP.NET Core, Orleans
/// grain calls, Npgsql) also go there over OTLP; without it no traces are recorded at all.
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";
    public const string DashboardPath = "/dashboard";
    public const string ServiceName = "allocation";

    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static WebApplicationBuilder AddAllocationTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CommandMetrics>();
        builder.Services.AddSingleton<BoardMetrics>();
        var otlp = TracesExported(builder.Configuration);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddMeter(CommandMetrics.MeterName, BoardMetrics.MeterName, StorageMetrics.MeterName, MemoryMetrics.Meter.Name, MemoryMetrics.RuntimeMeterName, "Microsoft.Orleans")
                .AddPrometheusExporter());
        if (otlp)
        {
            telemetry.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = http =>
                    !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments(MetricsPath))
                .AddSource(OrleansSources)
                .AddNpgsql());
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Whether traces are recorded and sent anywhere: only with an OTLP endpoint.</summary>
    public static bool TracesExported(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>The scrape endpoint and, when it runs (<see cref="OrleansSetup.DashboardEnabled"/>), the Orleans
    /// dashboard, both for administrators, like the job dashboard.</summary>
    public static WebApplication MapAllocationTelemetry(this WebApplication app, StorageMode storage)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(Policies.Administrators);
        if (OrleansSetup.DashboardEnabled(app.Configuration, storage))
        {
            app.MapOrleansDashboard(routePrefix: DashboardPath).RequireAuthorization(Policies.Administrators);
        }

        return app;
    }
}
