using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class ResupplyTests
{
    /// <summary>Two kit types KA and KB, open-label; supply 2 / 6.</summary>
    private static readonly StudyConfiguration OpenLabelTwoTypes = StudyFiles.Valid(Definitions.Randomized() with
    {
        Design = new DesignDefinition { Allocation = "randomized", Blinding = "open-label" },
    });

    private static IReadOnlyDictionary<string, int> LjNeed(params StockLevel[] stock) => Resupply.Need(LjStudy, LjStudy.Supply, stock);

    private static StockLevel S(string type, int available, int inTransit = 0) => new(type, available, inTransit);

    private static Dictionary<string, int> Order(params (string Type, int Count)[] lines) =>
        lines.ToDictionary(l => l.Type, l => l.Count, StringComparer.Ordinal);

    private static void AssertOrder(IReadOnlyDictionary<string, int> actual, params (string Type, int Count)[] expected) =>
        Assert.Equal(Order(expected).OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));

    [Theory]
    [InlineData(2, 2)]
    [InlineData(6, 6)]
    [InlineData(2, 6)]
    [InlineData(9, 3)]
    public void Need_EveryTypeAtOrAboveTrigger_Nothing(int lj, int pbo)
    {
        Assert.Empty(LjNeed(S(Lj, lj), S(Pbo, pbo)));
    }

    [Fact]
    public void Need_BelowTriggerOnlyWithoutInTransit_NothingBecauseInTransitCounts()
    {
        Assert.Empty(LjNeed(S(Lj, 0, 2), S(Pbo, 1, 1)));
    }

    [Fact]
    public void Need_BothBelowTrigger_EachUpToMaximum()
    {
        AssertOrder(LjNeed(S(Lj, 1), S(Pbo, 0)), (Lj, 5), (Pbo, 6));
    }

    [Fact]
    public void Need_OneBelowTrigger_BlindedOrdersBothUpToMaximum()
    {
        AssertOrder(LjNeed(S(Lj, 1), S(Pbo, 4)), (Lj, 5), (Pbo, 2));
    }

    [Fact]
    public void Need_InTransit_CountsTowardsTheMaximum()
    {
        AssertOrder(LjNeed(S(Lj, 1, 3), S(Pbo, 1, 0)), (Lj, 2), (Pbo, 5));
        AssertOrder(LjNeed(S(Lj, 0, 1), S(Pbo, 2, 2)), (Lj, 5), (Pbo, 2));
    }

    [Fact]
    public void Need_RunTwiceWithTheFirstOrderInTransit_OrdersNothingMore()
    {
        var first = LjNeed(S(Lj, 1), S(Pbo, 4));

        var second = LjNeed(S(Lj, 1, first[Lj]), S(Pbo, 4, first[Pbo]));

        Assert.Empty(second);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(20)]
    public void Need_BlindedOneTypeAtOrAboveMaximum_StillShipsOneOfIt(int full)
    {
        AssertOrder(LjNeed(S(Lj, 1), S(Pbo, full)), (Lj, 5), (Pbo, 1));
        AssertOrder(LjNeed(S(Lj, full), S(Pbo, 1)), (Lj, 1), (Pbo, 5));
    }

    [Fact]
    public void Need_BlindedOneTypeAtMaximum_CompositionDoesNotTellWhichTypeRanLow()
    {
        var ljLow = LjNeed(S(Lj, 1), S(Pbo, 6));
        var pboLow = LjNeed(S(Lj, 6), S(Pbo, 1));

        // Both shipments carry every kit type and the same number of kits: what a blinded site can see
        // (how many kits arrive, that the bottles look alike) is the same whichever arm ran low.
        Assert.Equal([Lj, Pbo], ljLow.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([Lj, Pbo], pboLow.Keys.Order(StringComparer.Ordinal));
        Assert.All(ljLow.Values.Concat(pboLow.Values), v => Assert.True(v >= 1));
        Assert.Equal(ljLow.Values.Sum(), pboLow.Values.Sum());
        Assert.Equal(ljLow[Lj], pboLow[Pbo]);
        Assert.Equal(ljLow[Pbo], pboLow[Lj]);
    }

    [Fact]
    public void Need_BlindedAnyStock_EveryTypeOrNothingAndMirroredStockMirroredOrder()
    {
        for (var a = 0; a <= 8; a++)
        {
            for (var b = 0; b <= 8; b++)
            {
                for (var t = 0; t <= 2; t++)
                {
                    var need = LjNeed(S(Lj, a, t), S(Pbo, b));
                    var mirrored = LjNeed(S(Lj, b), S(Pbo, a, t));
                    var triggered = a + t < 2 || b < 2;

                    if (!triggered)
                    {
                        Assert.Empty(need);
                        continue;
                    }

                    Assert.Equal([Lj, Pbo], need.Keys.Order(StringComparer.Ordinal));
                    Assert.Equal(Math.Max(1, 6 - a - t), need[Lj]);
                    Assert.Equal(Math.Max(1, 6 - b), need[Pbo]);
                    Assert.True(need.Values.Sum() >= 2);
                    Assert.Equal(need[Lj], mirrored[Pbo]);
                    Assert.Equal(need[Pbo], mirrored[Lj]);
                }
            }
        }
    }

    [Fact]
    public void Need_NoStockEntries_TreatedAsZero()
    {
        AssertOrder(LjNeed(), (Lj, 6), (Pbo, 6));
    }

    [Fact]
    public void Need_MissingEntryForOneType_ThatTypeTreatedAsZero()
    {
        AssertOrder(LjNeed(S(Pbo, 6)), (Lj, 6), (Pbo, 1));
        AssertOrder(LjNeed(S(Lj, 3, 2)), (Lj, 1), (Pbo, 6));
    }

    [Fact]
    public void Need_StockOfTypeNotInStudy_Ignored()
    {
        Assert.Empty(LjNeed(S(Lj, 3), S(Pbo, 3), S(Akk, 0)));
        var need = LjNeed(S(Lj, 1), S(Pbo, 3), S(Akk, 0));
        Assert.DoesNotContain(Akk, need.Keys);
    }

    [Fact]
    public void Need_OpenLabelOneTypeLowOtherFull_OrdersOnlyTheShortType()
    {
        AssertOrder(Resupply.Need(OpenLabelTwoTypes, OpenLabelTwoTypes.Supply, [S("KA", 1), S("KB", 6)]), ("KA", 5));
        AssertOrder(Resupply.Need(OpenLabelTwoTypes, OpenLabelTwoTypes.Supply, [S("KA", 9), S("KB", 0, 1)]), ("KB", 5));
    }

    [Fact]
    public void Need_OpenLabelOtherTypeBelowMaximum_TopsItUpToo()
    {
        AssertOrder(Resupply.Need(OpenLabelTwoTypes, OpenLabelTwoTypes.Supply, [S("KA", 1), S("KB", 4)]), ("KA", 5), ("KB", 2));
    }

    [Fact]
    public void Need_OpenLabelAtTrigger_Nothing()
    {
        Assert.Empty(Resupply.Need(OpenLabelTwoTypes, OpenLabelTwoTypes.Supply, [S("KA", 2), S("KB", 0, 2)]));
    }

    [Theory]
    [InlineData(0, 0, 5)]
    [InlineData(1, 0, 4)]
    [InlineData(0, 1, 4)]
    public void Need_SingleArmBelowTrigger_UpToMaximum(int available, int inTransit, int expected)
    {
        AssertOrder(Resupply.Need(AkkStudy, AkkStudy.Supply, [S(Akk, available, inTransit)]), (Akk, expected));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(1, 1)]
    [InlineData(5, 0)]
    public void Need_SingleArmAtOrAboveTrigger_Nothing(int available, int inTransit)
    {
        Assert.Empty(Resupply.Need(AkkStudy, AkkStudy.Supply, [S(Akk, available, inTransit)]));
    }

    [Fact]
    public void Need_SiteSupplyPassed_UsesItsLevelsNotTheStudys()
    {
        var study = StudyFiles.Valid(StudyFiles.Lj.WithSite(1, s => s with { Supply = Definitions.Supply(4, 10, 3, 7) }));
        var site = study.FindSite("CN02")!;
        StockLevel[] stock = [S(Lj, 3), S(Pbo, 5)];

        Assert.Empty(Resupply.Need(study, study.Supply, stock));
        AssertOrder(Resupply.Need(study, site.Supply, stock), (Lj, 7), (Pbo, 5));
        Assert.Empty(Resupply.Need(study, study.FindSite("CN01")!.Supply, stock));
    }

    [Fact]
    public void Need_TriggerLevelZero_NeverOrders()
    {
        Assert.Empty(Resupply.Need(LjStudy, new SupplySettings(0, 6, 5, 7), []));
    }

    [Fact]
    public void Need_BlindedSingleTypeOrderOfOne_PaddedToTwoKits()
    {
        var study = LjStudy with { KitTypes = [LjStudy.KitTypes[0]] };

        AssertOrder(Resupply.Need(study, new SupplySettings(2, 2, 5, 7), [S(Lj, 1)]), (Lj, 2));
        AssertOrder(Resupply.Need(study, new SupplySettings(3, 1, 5, 7), [S(Lj, 2)]), (Lj, 2));
        AssertOrder(Resupply.Need(study, LjStudy.Supply, [S(Lj, 1)]), (Lj, 5));
    }

    [Fact]
    public void Need_OpenLabelSingleTypeOrderOfOne_NotPadded()
    {
        AssertOrder(Resupply.Need(AkkStudy, new SupplySettings(2, 2, 5, 7), [S(Akk, 1)]), (Akk, 1));
    }

    [Fact]
    public void Need_Result_NeverHoldsZeroOrNegativeCounts()
    {
        for (var a = 0; a <= 8; a++)
        {
            for (var b = 0; b <= 8; b++)
            {
                Assert.All(Resupply.Need(OpenLabelTwoTypes, OpenLabelTwoTypes.Supply, [S("KA", a), S("KB", b)]).Values, v => Assert.True(v > 0));
                Assert.All(LjNeed(S(Lj, a), S(Pbo, b)).Values, v => Assert.True(v > 0));
            }
        }
    }
}
