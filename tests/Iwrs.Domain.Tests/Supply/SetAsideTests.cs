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
}
