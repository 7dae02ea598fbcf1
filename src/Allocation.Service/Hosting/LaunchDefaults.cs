namespace Allocation.Service.Hosting;

/// <summary>
/// What <c>dotnet run</c> gives a reader who sets nothing: Development on http://localhost:5080. The launch profile
/// (<c>Properties/launchSettings.json</c>) does not set <c>ASPNETCORE_ENVIRONMENT</c> or an <c>applicationUrl</c>,
/// because a launch profile's values replace the reader's own: <c>ASPNETCORE_ENVIRONMENT=Production dotnet run</c> once
/// started the demo. It sets <see cref="EnvironmentVariable"/> and <see cref="UrlsVariable"/> instead, which apply only
/// where the reader gave no environment (<c>ASPNETCORE_ENVIRONMENT</c>, <c>DOTNET_ENVIRONMENT</c>, <c>--environment</c>)
/// and no address (<c>ASPNETCORE_URLS</c>, <c>--urls</c>, <c>ASPNETCORE_HTTP_PORTS</c>, Kestrel endpoints).
/// A published service has no launch profile, so it starts as Production unless told otherwise, as ASP.NET does.
/// </summary>
public static class LaunchDefaults
{
    public const string EnvironmentVariable = "ALLOCATION_DEFAULT_ENVIRONMENT";
    public const string UrlsVariable = "ALLOCATION_DEFAULT_URLS";

    /// <summary>The builder's options: the launch profile's environment when the reader set none.</summary>
    public static WebApplicationOptions Options(string[] args)
    {
        // The host reads its environment from these sources, in this order (later wins).
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        var fallback = Environment.GetEnvironmentVariable(EnvironmentVariable);
        var useFallback = string.IsNullOrWhiteSpace(host[HostDefaults.EnvironmentKey]) && !string.IsNullOrWhiteSpace(fallback);
        return new WebApplicationOptions { Args = args, EnvironmentName = useFallback ? fallback : null };
    }

    /// <summary>Listens on the launch profile's address when the reader set none.</summary>
    public static WebApplicationBuilder UseLaunchDefaultUrls(this WebApplicationBuilder builder)
    {
        var fallback = Environment.GetEnvironmentVariable(UrlsVariable);
        var configuration = builder.Configuration;
        var given = !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.ServerUrlsKey])
            || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpPortsKey])
            || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpsPortsKey])
            || configuration.GetSection("Kestrel:Endpoints").Exists();
        if (!given && !string.IsNullOrWhiteSpace(fallback))
        {
            builder.WebHost.UseUrls(fallback);
        }

        return builder;
    }
}
