using Hangfire.AspNetCore;
using Hangfire.Logging;
using LogLevel = Hangfire.Logging.LogLevel;

namespace Allocation.Service.Jobs;

/// <summary>
/// Hangfire's log provider is process-wide: the last host to configure it wins. A process normally holds one host,
/// but where several start and stop in one process (the test suite), a stopped host's disposed logger factory would
/// make every other host's Hangfire fail. This provider writes to the host's loggers and drops what it can no
/// longer write, instead of failing the job.
/// </summary>
internal sealed class HangfireLogging(ILoggerFactory loggerFactory) : ILogProvider
{
    private readonly AspNetCoreLogProvider _inner = new(loggerFactory);

    public ILog GetLogger(string name)
    {
        try
        {
            return new Tolerant(_inner.GetLogger(name));
        }
        catch (ObjectDisposedException)
        {
            return new Tolerant(null);
        }
    }

    private sealed class Tolerant(ILog? inner) : ILog
    {
        public bool Log(LogLevel logLevel, Func<string> messageFunc, Exception exception)
        {
            try
            {
                return inner?.Log(logLevel, messageFunc, exception) ?? false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }
}
