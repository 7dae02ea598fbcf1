namespace Allocation.Tests.Browser;

/// <summary>
/// A fact that drives Debian's Chromium (<see cref="BrowserApp.ChromiumPath"/>). Skipped at discovery when it is not
/// installed, except under CI (<c>CI=true</c>), where a missing browser must fail the run rather than hide tests.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (!IsCi && !BrowserApp.IsBrowserAvailable)
        {
            Skip = $"Chromium not found at {BrowserApp.ChromiumPath}; install it (apt-get install chromium, or .ci/install-deps.sh) to run the browser tests.";
        }
    }

    private static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
