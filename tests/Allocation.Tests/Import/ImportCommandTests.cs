using Allocation.Service.Import;

namespace Allocation.Tests.Import;

public class ImportCommandTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://localhost:6000")]
    [InlineData("http://[::1]:5080")]
    public void Loopback_urls_are_accepted(string url)
    {
        var (arguments, error) = ImportCommand.Parse(["data", "--url", url]);

        Assert.Null(error);
        Assert.Equal(("data", new Uri(url)), (arguments!.Folder, arguments.Url));
    }

    [Theory]
    [InlineData("http://10.0.0.5:5080")]
    [InlineData("https://allocation.example.gov.uk")]
    [InlineData("http://192.168.1.2")]
    public void Other_hosts_are_refused(string url)
    {
        var (arguments, error) = ImportCommand.Parse(["data", "--url", url]);

        Assert.Null(arguments);
        Assert.Contains("only talks to a service on this machine", error);
    }

    [Theory]
    [InlineData]
    [InlineData("--url")]
    [InlineData("data", "--url")]
    [InlineData("data", "--url", "ftp://127.0.0.1")]
    [InlineData("data", "other")]
    [InlineData("data", "--verbose")]
    [InlineData("data", "--token")]
    public void Bad_arguments_are_refused_with_the_usage(params string[] args)
    {
        var (arguments, error) = ImportCommand.Parse(args);

        Assert.Null(arguments);
        Assert.NotNull(error);
    }

    [Fact]
    public void A_token_from_the_option_or_the_environment_allows_another_host_over_https()
    {
        var (withOption, _) = ImportCommand.Parse(["data", "--url", "https://allocation.example.gov.uk", "--token", "abc"]);
        var (fromEnvironment, _) = ImportCommand.Parse(["data", "--url", "https://allocation.example.gov.uk"], tokenFromEnvironment: "xyz");
        var (plainHttp, error) = ImportCommand.Parse(["data", "--url", "http://10.0.0.5:5080", "--token", "abc"]);

        Assert.Equal("abc", withOption!.Token);
        Assert.Equal("xyz", fromEnvironment!.Token);
        Assert.Null(plainHttp);
        Assert.Contains("only sent to another host over https", error);
    }

    [Fact]
    public void The_token_option_wins_over_the_environment()
    {
        Assert.Equal("given", ImportCommand.Parse(["data", "--token", "given"], tokenFromEnvironment: "other").Arguments!.Token);
    }

    [Fact]
    public void The_default_url_is_the_local_demo()
    {
        Assert.Equal(new Uri("http://127.0.0.1:5080"), ImportCommand.Parse(["data"]).Arguments!.Url);
    }

    [Fact]
    public async Task A_refused_url_exits_without_sending_anything()
    {
        var error = new StringWriter();

        var code = await ImportCommand.RunAsync(["data", "--url", "http://10.1.2.3"], TextWriter.Null, error);

        Assert.Equal(2, code);
        Assert.Contains("Refusing 10.1.2.3", error.ToString());
    }
}
