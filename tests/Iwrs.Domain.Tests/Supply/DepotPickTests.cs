using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Tests.Supply;

public sealed class DepotPickTests
{
    private static readonly DateOnly Early = new(2026, 5, 1);
    private static readonly DateOnly Late = new(2028, 6, 30);

    private static Dictionary<DateOnly, IReadOnlyDictionary<string, int>> Depot(params (DateOnly Date, int Lj, int Pbo)[] dates) =>
        dates.ToDictionary(d => d.Date, d => (IReadOnlyDictionary<string, int>)new Dictionary<string, int>(StringComparer.Ordinal) { ["LJ"] = d.Lj, ["PBO"] = d.Pbo }.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));

    private static readonly Dictionary<string, int> ThreeEach = new(StringComparer.Ordinal) { ["LJ"] = 3, ["PBO"] = 3 };

    [Theory]
    [InlineData(true, 2, true)]
    [InlineData(false, 2, false)]
    [InlineData(true, 1, false)]
    public void OneDate_OnlyBlindedStudiesOfSeveralTypes(bool blinded, int kitTypes, bool expected)
    {
        Assert.Equal(expected, DepotPick.OneDate(blinded, kitTypes));
    }

    [Fact]
    public void From_EarliestDateHoldingEveryType_TakesAllFromIt()
    {
        var pick = DepotPick.From(ThreeEach, Depot((Late, 10, 10), (Early, 5, 4)), fill: false);

        Assert.Equal(Early, pick!.Value.Date);
        Assert.Equal(ThreeEach, pick.Value.Kits);
    }

    [Fact]
    public void From_EarlyDateShortOfOneType_TakesNothingFromIt()
    {
        // Per-type first-expiry-first would take the three early LJ kits and three late PBO kits: dates telling types apart.
        var pick = DepotPick.From(ThreeEach, Depot((Early, 3, 0), (Late, 10, 10)), fill: false);

        Assert.Equal(Late, pick!.Value.Date);
        Assert.Equal(ThreeEach, pick.Value.Kits);
    }

    [Fact]
    public void From_NoDateHoldsIt_NullUnlessFilled()
    {
        var depot = Depot((Early, 5, 1), (Late, 1, 5));

        Assert.Null(DepotPick.From(ThreeEach, depot, fill: false));

        // An automatic order keeps its six kits: the earliest date that can make them up, each type kept.
        var filled = DepotPick.From(ThreeEach, depot, fill: true);
        Assert.Equal(Early, filled!.Value.Date);
        Assert.Equal(new Dictionary<string, int>(StringComparer.Ordinal) { ["LJ"] = 5, ["PBO"] = 1 }, filled.Value.Kits);
    }

    [Fact]
    public void From_ExactCompositionAtALaterDate_PreferredToMakingItUpEarlier()
    {
        var pick = DepotPick.From(ThreeEach, Depot((Early, 5, 1), (Late, 3, 3)), fill: true);

        Assert.Equal(Late, pick!.Value.Date);
        Assert.Equal(ThreeEach, pick.Value.Kits);
    }

    [Fact]
    public void From_NothingWanted_Null()
    {
        Assert.Null(DepotPick.From(new Dictionary<string, int>(StringComparer.Ordinal) { ["LJ"] = 0 }, Depot((Late, 3, 3)), fill: true));
    }
}
