using Allocation.LoadTests;

namespace Allocation.Tests.LoadTests;

/// <summary>The durable scenario makes a place for every allocation it will send: the warm-up's for its own length.</summary>
public class DurableLadderTests
{
    [Fact]
    public void A_warm_up_longer_than_the_steps_gets_places_for_its_own_length()
    {
        var ladder = DurableScenario.Ladder([250, 500], stepSeconds: 5, warmupRate: 200, warmupSeconds: 10);

        Assert.Equal([(200d, 10d, true, 2000), (250d, 5d, false, 1250), (500d, 5d, false, 2500)], ladder);
    }

    [Fact]
    public void Without_a_warm_up_the_ladder_is_the_steps()
    {
        var ladder = DurableScenario.Ladder([1500], stepSeconds: 10, warmupRate: 200, warmupSeconds: 0);

        Assert.Equal([(1500d, 10d, false, 15000)], ladder);
    }
}
