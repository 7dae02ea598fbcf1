using Allocation.Tests.Infrastructure;

namespace Allocation.Tests.Api;

public class ProductionStartTests
{
    [Fact]
    public void Production_without_a_connection_string_refuses_to_start_with_a_clear_message()
    {
        using var factory = new ProductionFactory();
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        var message = error.ToString();
        Assert.Contains("ConnectionStrings__Allocation", message);
        Assert.Contains("Production", message);
    }

    private sealed class ProductionFactory : AppFactory
    {
        protected override string Environment => "Production";
    }
}
