namespace Allocation.Tests.Infrastructure;

/// <summary>
/// A fact that needs PostgreSQL (see <see cref="PostgresServer"/>). Skipped at discovery when no server can be had,
/// except under CI (<c>CI=true</c>), where a missing server must fail the run rather than hide tests.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!IsCi && !PostgresServer.IsAvailable)
        {
            Skip = PostgresServer.NotAvailable;
        }
    }

    private static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
