using Iwrs.Domain.Supply;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class SetAsideTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(5, true)]
    public void AtRelease_BlindedStudy_SetsAsideExactlyWhenKitsWereLost(int lost, bool expected)
    {
        Assert.Equal(expected, SetAside.AtRelease(LjStudy, lost));
    }

    [Fact]
    public void OpenStudy_NeitherSetsAsideNorHolds()
    {
        Assert.False(SetAside.AtRelease(AkkStudy, 3));
        Assert.False(SetAside.HoldsOnShelfLoss(AkkStudy));
        Assert.True(SetAside.HoldsOnShelfLoss(LjStudy));
    }

    [Fact]
    public void StandIn_TakesTheKitNearestTheLostKitsExpiry_TiesInListOrder()
    {
        var shelf = new Dictionary<string, DateOnly> { ["A"] = new(2027, 1, 1), ["B"] = new(2027, 6, 1), ["C"] = new(2027, 6, 1), ["D"] = new(2028, 1, 1) };
        string[] order = ["A", "B", "C", "D"];
        Assert.Equal("B", SetAside.StandIn(order, k => shelf[k], new DateOnly(2027, 5, 20)));
        Assert.Equal("D", SetAside.StandIn(order, k => shelf[k], new DateOnly(2029, 1, 1)));
        Assert.Equal("A", SetAside.StandIn(order, k => shelf[k], new DateOnly(2026, 1, 1)));
    }

    [Fact]
    public void StandIn_NoKitOfTheType_IsNone()
    {
        Assert.Null(SetAside.StandIn(Array.Empty<string>(), _ => Today, Today));
    }
}
