using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Tests.Supply;

public sealed class DepotPickTests
{
    private static readonly DepotBatch Early = new(new DateOnly(2026, 5, 1), "LOT-E1");
    private static readonly DepotBatch Late = new(new DateOnly(2028, 6, 30), "LOT-1");

    private static Dictionary<DepotBatch, IReadOnlyDictionary<string, int>> Depot(params (DepotBatch Batch, int Lj, int Pbo)[] batches) =>
        batches.ToDictionary(d => d.Batch, d => (IReadOnlyDictionary<string, int>)new Dictionary<string, int>(StringComparer.Ordinal) { ["LJ"] = d.Lj, ["PBO"] = d.Pbo }.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));

    private static Dictionary<string, int> Kits(int lj, int pbo) => new(StringComparer.Ordinal) { ["LJ"] = lj, ["PBO"] = pbo };

    [Theory]
    [InlineData(true, 2, true)]
    [InlineData(false, 2, false)]
    [InlineData(true, 1, false)]
    public void OneBatch_OnlyBlindedStudiesOfSeveralTypes(bool blinded, int kitTypes, bool expected)
    {
        Assert.Equal(expected, DepotPick.OneBatch(blinded, kitTypes));
    }

    [Fact]
    public void From_EarliestBatchThatHoldsAnyMix_TakesAllFromIt()
    {
        var pick = DepotPick.From(Kits(3, 3), Depot((Late, 10, 10), (Early, 5, 5)), fill: false);

        Assert.Equal(Early, pick!.Value.Batch);
        Assert.Equal(Kits(3, 3), pick.Value.Kits);
    }

    [Fact]
    public void From_EarlyBatchShortOfOneType_TakesNothingFromIt()
    {
        // Per-type first-expiry-first would take the three early LJ kits and three late PBO kits: dates telling types apart.
        var pick = DepotPick.From(Kits(3, 3), Depot((Early, 3, 0), (Late, 10, 10)), fill: false);

        Assert.Equal(Late, pick!.Value.Batch);
        Assert.Equal(Kits(3, 3), pick.Value.Kits);
    }

    [Fact]
    public void From_SameDateTwoLots_OneLot()
    {
        var other = Early with { Lot = "LOT-E2" };
        var pick = DepotPick.From(Kits(2, 2), Depot((Early, 5, 0), (other, 0, 5), (Late, 10, 10)), fill: true);

        Assert.Equal(Late, pick!.Value.Batch);
    }

    [Fact]
    public void From_BatchChosenWhateverTheMix_OverEveryDepotAndEveryMixOfTheSameNumber()
    {
        // Attacker review 9: chosen by the mix, the date on the bottles told which way a shipment leaned. Every depot of
        // two batches with 0-6 kits of each type, every mix of 2-7 kits with both types in it.
        var checkedDepots = 0;
        for (var e = 0; e < 7 * 7; e++)
        {
            for (var l = 0; l < 7 * 7; l++)
            {
                var depot = Depot((Early, e / 7, e % 7), (Late, l / 7, l % 7));
                for (var total = 2; total <= 7; total++)
                {
                    var batches = Enumerable.Range(1, total - 1).Select(lj => DepotPick.From(Kits(lj, total - lj), depot, fill: true)?.Batch).Distinct().ToList();
                    Assert.True(batches.Count == 1, $"depot {e / 7}/{e % 7}, {l / 7}/{l % 7}, {total} kits: {string.Join(", ", batches)}");
                    checkedDepots++;
                }
            }
        }

        Assert.Equal(49 * 49 * 6, checkedDepots);
    }

    [Fact]
    public void From_NoBatchHoldsEveryMix_FilledFromTheEarliestThatCanMakeTheNumberUp()
    {
        var depot = Depot((Early, 5, 1), (Late, 1, 5));

        // The depot manager's own shipment: the earliest batch holding the mix asked for, or none.
        Assert.Null(DepotPick.From(Kits(3, 3), depot, fill: false));
        Assert.Equal(Late, DepotPick.From(Kits(1, 4), depot, fill: false)!.Value.Batch);

        // An automatic order keeps its six kits: the earliest batch that can make them up, each type kept.
        var filled = DepotPick.From(Kits(3, 3), depot, fill: true);
        Assert.Equal(Early, filled!.Value.Batch);
        Assert.Equal(Kits(5, 1), filled.Value.Kits);
    }

    [Fact]
    public void From_NothingWanted_Null()
    {
        Assert.Null(DepotPick.From(new Dictionary<string, int>(StringComparer.Ordinal) { ["LJ"] = 0 }, Depot((Late, 3, 3)), fill: true));
    }
}
