using Iwrs.Domain.Supply;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class SetAsideTests
{
    [Theory]
    [InlineData(1, 0, 0, 1)]
    [InlineData(0, 1, 1, 0)]
    [InlineData(2, 0, 0, 2)]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 1, 1, 3)]
    public void Counts_EveryTypeFallsByTheNumberLost(int lostLj, int lostPbo, int asideLj, int asidePbo)
    {
        var lost = lostLj + lostPbo;
        var counts = SetAside.Counts(LjStudy, lost, new Dictionary<string, int> { [Lj] = lostLj, [Pbo] = lostPbo });
        Assert.Equal(asideLj, counts.GetValueOrDefault(Lj));
        Assert.Equal(asidePbo, counts.GetValueOrDefault(Pbo));

        // Lost plus set aside is the same for every type: the number lost.
        Assert.Equal(lost, lostLj + asideLj);
        Assert.Equal(lost, lostPbo + asidePbo);
    }

    [Fact]
    public void Counts_AKitNoLongerUsable_SetsAsideOneOfEveryType()
    {
        // A kit past its dispensing limit left no usable count, so every type gives one (attacker review M1).
        var counts = SetAside.Counts(LjStudy, 1, new Dictionary<string, int>());
        Assert.Equal(1, counts[Lj]);
        Assert.Equal(1, counts[Pbo]);
    }

    [Fact]
    public void Counts_OpenStudy_SetsNothingAside()
    {
        Assert.Empty(SetAside.Counts(AkkStudy, 2, new Dictionary<string, int> { [Akk] = 2 }));
    }

    [Fact]
    public void Counts_MoreUsableLostThanLost_Throws()
    {
        Assert.Throws<ArgumentException>(() => SetAside.Counts(LjStudy, 1, new Dictionary<string, int> { [Lj] = 2 }));
    }

    [Fact]
    public void Choose_TakesTheKitsNearestTheLostKitsExpiry_TiesInListOrder()
    {
        DateOnly[] shelf = [new(2027, 1, 1), new(2027, 6, 1), new(2027, 6, 1), new(2028, 1, 1)];
        var chosen = SetAside.Choose([0, 1, 2, 3], i => shelf[i], 2, new DateOnly(2027, 5, 20));
        Assert.Equal([1, 2], chosen);
        Assert.Equal([3], SetAside.Choose([0, 1, 2, 3], i => shelf[i], 1, new DateOnly(2029, 1, 1)));
    }

    [Fact]
    public void Choose_FewerKitsThanWanted_TakesThemAll()
    {
        Assert.Equal(["A"], SetAside.Choose(["A"], _ => Today, 3, Today));
    }

    [Fact]
    public void Near_IsTheMedianExpiry()
    {
        Assert.Equal(new DateOnly(2027, 2, 1), SetAside.Near([new(2027, 3, 1), new(2027, 1, 1), new(2027, 2, 1)]));
        Assert.Equal(new DateOnly(2027, 1, 1), SetAside.Near([new(2027, 3, 1), new(2027, 1, 1)]));
    }
}
