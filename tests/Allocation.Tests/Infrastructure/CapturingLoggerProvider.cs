using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Allocation.Tests.Infrastructure;

/// <summary>Keeps every log message (<c>category: message</c>), for tests of what the service logs. Its alias lets a test
/// set a level for this provider alone (<c>Logging:Capture:LogLevel:Default</c>), as one might for the console.</summary>
[ProviderAlias("Capture")]
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Messages.Enqueue($"{category}: {formatter(state, exception)}");
    }
}

/// <summary>The service with <see cref="AppFactory"/>'s settings and these, logging into <paramref name="logs"/> too.</summary>
public sealed class LoggingAppFactory(CapturingLoggerProvider logs, Dictionary<string, string?> settings) : AppFactory(settings)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(l => l.AddProvider(logs));
    }
}
