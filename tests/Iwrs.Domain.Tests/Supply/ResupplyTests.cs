using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;
using Iwrs.Testing;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class ResupplyTests
{
    /// <summary>Site totals: resupply below 4 kits, up to 10.</summary>
    private static readonly SupplySettings Levels = new(4, 10, 5, 7);

    /// <summary>Two kit types KA and KB, open-label.</summary>
    private static readonly StudyConfiguration OpenLabelTwoTypes = StudyFiles.Valid(Definitions.Randomized() with
    {
        Design = new DesignDefinition { Allocation = "randomized", Blinding = "open-label" },
    });

    private static IReadOnlyDictionary<string, int> LjNeed(params StockLevel[] stock) => Resupply.BlindSafe.Need(LjStudy, Levels, stock, ZeroRandom.Instance);

    private static StockLevel S(string type, int available, int inTransit = 0, int onTreatment = 0) => new(type, available, inTransit, onTreatment);

    private static void AssertOrder(IReadOnlyDictionary<string, int> actual, params (string Type, int Count)[] expected) =>
        Assert.Equal(expected.OrderBy(e => e.Type, StringComparer.Ordinal).Select(e => KeyValuePair.Create(e.Type, e.Count)), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));

    [Theory]
    [InlineData(4, 0)]
    [InlineData(0, 4)]
    [InlineData(2, 2)]
    [InlineData(9, 3)]
    public void Need_SiteTotalAtOrAboveTrigger_NothingWhateverTheSplit(int lj, int pbo)
    {
        Assert.Empty(LjNeed(S(Lj, lj), S(Pbo, pbo)));
    }

    [Fact]
    public void Need_InTransitCountsTowardsTheTotal()
    {
        Assert.Empty(LjNeed(S(Lj, 0, 2), S(Pbo, 1, 1)));
        Assert.Equal(10 - 3, LjNeed(S(Lj, 0, 2), S(Pbo, 1)).Values.Sum());
    }

    /// <summary>
    /// The blind-safe property of the rule itself: when and how many depend on the site's total only, so every split of
    /// the same total (shelf and in transit, per type, any demand) orders the same number of kits, with every type in it.
    /// </summary>
    [Fact]
    public void Need_Blinded_SizeDependsOnlyOnTheTotalAndEveryTypeShips()
    {
        for (var total = 0; total <= 12; total++)
        {
            var sizes = new HashSet<int>();
            foreach (var (ljShelf, ljTransit, pboShelf, pboTransit) in Splits(total))
            {
                for (var ljSubjects = 0; ljSubjects <= 6; ljSubjects += 3)
                {
                    var need = LjNeed(S(Lj, ljShelf, ljTransit, ljSubjects), S(Pbo, pboShelf, pboTransit, 6 - ljSubjects));
                    sizes.Add(need.Values.Sum());
                    if (need.Count > 0)
                    {
                        Assert.Equal([Lj, Pbo], need.Keys.Order(StringComparer.Ordinal));
                        Assert.All(need.Values, v => Assert.True(v >= 1));
                    }
                }
            }

            Assert.Equal([total < Levels.TriggerLevel ? Math.Max(Levels.MaximumLevel - total, 2) : 0], sizes);
        }
    }

    /// <summary>The per-type rule fails the same check: a blinded pharmacist who counts the shelf can solve for per-type stock.</summary>
    [Fact]
    public void PerType_SizeDependsOnTheSplit()
    {
        var sizes = Splits(12).Select(s => Resupply.PerType.Need(LjStudy, Levels, [S(Lj, s.Item1, s.Item2), S(Pbo, s.Item3, s.Item4)], ZeroRandom.Instance).Values.Sum()).ToHashSet();
        Assert.True(sizes.Count > 1, $"sizes: {string.Join(",", sizes)}");
    }

    private static IEnumerable<(int, int, int, int)> Splits(int total)
    {
        for (var a = 0; a <= total; a++)
        {
            for (var b = 0; a + b <= total; b++)
            {
                for (var c = 0; a + b + c <= total; c++)
                {
                    yield return (a, b, c, total - a - b - c);
                }
            }
        }
    }

    /// <summary>In the ratio, the odd kit to the short type; 3 + 4 leaves PBO 1 kit short of its 5, within the tolerance.</summary>
    [Fact]
    public void Need_Composition_RebalancesTowardsEqualShares()
    {
        AssertOrder(LjNeed(S(Lj, 3), S(Pbo, 0)), (Lj, 3), (Pbo, 4));
        AssertOrder(LjNeed(S(Lj, 0), S(Pbo, 3)), (Lj, 4), (Pbo, 3));
        AssertOrder(LjNeed(), (Lj, 5), (Pbo, 5));
    }

    /// <summary>
    /// A blinded shipment leans from the ratio only as far as it must: LJ 0 and PBO 12 on a 24-kit site, 12 kits to
    /// send, targets 12 each. In the ratio (6 + 6) LJ would be 6 short; kits move to LJ until it is no more than
    /// <see cref="Resupply.RebalanceTolerance"/> short (11 + 1), not all the way (12 + 0 would also lose the one-of-each).
    /// With LJ 4 and PBO 12 on a 28-kit site (targets 14), LJ is 4 short in the ratio (6 + 6) and 1 short after 9 + 3.
    /// </summary>
    [Fact]
    public void Need_Blinded_LeansOnlyAsFarAsItMust()
    {
        AssertOrder(Resupply.BlindSafe.Need(LjStudy, new SupplySettings(16, 24, 5, 7), [S(Lj, 0), S(Pbo, 12)], ZeroRandom.Instance), (Lj, 11), (Pbo, 1));
        AssertOrder(Resupply.BlindSafe.Need(LjStudy, new SupplySettings(20, 28, 5, 7), [S(Lj, 4), S(Pbo, 12)], ZeroRandom.Instance), (Lj, 9), (Pbo, 3));
    }

    /// <summary>
    /// Over every stock of up to 12 kits a type and up to 4 subjects on each: the shipment has the public quantity, every
    /// type, and leans from the ratio only while a type would otherwise be more than the tolerance short of its target;
    /// when it leans, the type it leans to ends no more than the tolerance short.
    /// </summary>
    [Fact]
    public void Need_Blinded_LeansOnlyWhenATypeWouldBeShortOtherwise()
    {
        var levels = new SupplySettings(20, 24, 5, 7);
        var (checkedCount, leaned, inRatio) = (0, 0, 0);
        for (var lj = 0; lj <= 12; lj++)
        {
            for (var pbo = 0; pbo <= 12; pbo++)
            {
                for (var onLj = 0; onLj <= 4; onLj++)
                {
                    for (var onPbo = 0; onPbo <= 4; onPbo++)
                    {
                        StockLevel[] stock = [S(Lj, lj, onTreatment: onLj), S(Pbo, pbo, onTreatment: onPbo)];
                        var need = Resupply.BlindSafe.Need(LjStudy, levels, stock, ZeroRandom.Instance);
                        var quantity = Resupply.Quantity(LjStudy, levels, lj + pbo, urgent: false);
                        Assert.Equal(quantity, need.Values.Sum());
                        if (quantity == 0)
                        {
                            continue;
                        }

                        checkedCount++;
                        Assert.True(need[Lj] >= 1 && need[Pbo] >= 1);
                        var after = lj + pbo + quantity;
                        double Target(int on) => ((on + 0.5) / (onLj + onPbo + 1.0) + 0.5) / 2 * after;
                        var shortLj = Target(onLj) - lj - need[Lj];
                        var shortPbo = Target(onPbo) - pbo - need[Pbo];
                        if (Math.Abs(need[Lj] - need[Pbo]) > 1)
                        {
                            // It leaned: the last kit moved went to a type more than the tolerance short, and from one
                            // better stocked against its own target.
                            leaned++;
                            var (to, from) = need[Lj] > need[Pbo] ? (shortLj, shortPbo) : (shortPbo, shortLj);
                            Assert.True(to > Resupply.RebalanceTolerance - 1 - 1e-9 && from < to + 1 + 1e-9, $"LJ {lj}/{onLj}, PBO {pbo}/{onPbo}: {need[Lj]} + {need[Pbo]}");
                        }
                        else
                        {
                            inRatio++;
                        }

                        // It stopped only when it had to: the worst type is within the tolerance, or the other has no
                        // kit left to give, or one more move would leave the other type the worse.
                        var (worst, other, otherSent) = shortLj >= shortPbo ? (shortLj, shortPbo, need[Pbo]) : (shortPbo, shortLj, need[Lj]);
                        Assert.True(worst <= Resupply.RebalanceTolerance + 1e-9 || otherSent == 1 || other >= worst - 1 - 1e-9, $"LJ {lj}/{onLj}, PBO {pbo}/{onPbo}: {need[Lj]} + {need[Pbo]} stopped early");
                    }
                }
            }
        }

        Assert.True(checkedCount > 1000 && leaned > 100 && inRatio > 100, $"{checkedCount}: {leaned} leaned, {inRatio} in the ratio");
    }

    [Fact]
    public void Need_Composition_OneTypeAboveItsShare_StillShipsOneOfIt()
    {
        AssertOrder(LjNeed(S(Lj, 0), S(Pbo, 3, onTreatment: 0)), (Lj, 4), (Pbo, 3));
        AssertOrder(Resupply.BlindSafe.Need(LjStudy, new SupplySettings(4, 6, 5, 7), [S(Lj, 0), S(Pbo, 3)], ZeroRandom.Instance), (Lj, 2), (Pbo, 1));
    }

    [Fact]
    public void Need_Composition_FollowsTheSubjectsOnTreatment()
    {
        // Five subjects on LJ, one on PBO: LJ's share of the 10 kits after delivery is half its demand share (5.5 / 7)
        // plus half its allocation share (1 / 2): 9 / 14, 6.4 kits. In the ratio (3 + 3) the odd kit goes to LJ, which
        // leaves it 1.4 short: within the tolerance.
        var need = LjNeed(S(Lj, 1, onTreatment: 5), S(Pbo, 2, onTreatment: 1));
        AssertOrder(need, (Lj, 4), (Pbo, 3));

        // Eight subjects on LJ and no LJ kit: LJ's target is 7.2 kits, 3.2 short after 4 + 3; the shipment leans to it
        // until it is within 2 (6 + 1: 1.2 short).
        AssertOrder(LjNeed(S(Lj, 0, onTreatment: 8), S(Pbo, 3, onTreatment: 0)), (Lj, 6), (Pbo, 1));
    }

    /// <summary>
    /// Mirrored stock orders exactly the mirrored composition when its ties are broken the other way round. The tie order
    /// is a uniform draw, so for a 1:1 study the compositions for a stock and for its mirror are mirror images in
    /// distribution: a replay of the rule under both labellings of the subjects scores the same (attacker review).
    /// </summary>
    [Fact]
    public void Need_MirroredStock_MirroredOrder_WithTheTiesTheOtherWayRound()
    {
        var (states, tied) = (0, 0);
        foreach (var levels in new[] { Levels, new SupplySettings(28, 40, 5, 7) })
        {
            for (var a = 0; a < levels.TriggerLevel; a++)
            {
                for (var b = 0; a + b < levels.TriggerLevel; b++)
                {
                    for (var onA = 0; onA <= 6; onA += 2)
                    {
                        for (var onB = 0; onB <= 6; onB += 3)
                        {
                            StockLevel[] stock = [S(Lj, a, onTreatment: onA), S(Pbo, b, onTreatment: onB)];
                            StockLevel[] mirror = [S(Lj, b, onTreatment: onB), S(Pbo, a, onTreatment: onA)];
                            var need = Resupply.BlindSafe.Need(LjStudy, levels, stock, new Draws(0));
                            var mirrored = Resupply.BlindSafe.Need(LjStudy, levels, mirror, new Draws(1));
                            Assert.True(need[Lj] == mirrored[Pbo] && need[Pbo] == mirrored[Lj], $"{a}/{onA} and {b}/{onB}: {need[Lj]} + {need[Pbo]}, mirrored {mirrored[Lj]} + {mirrored[Pbo]}");
                            states++;
                            tied += Resupply.BlindSafe.Need(LjStudy, levels, stock, new Draws(1))[Lj] != need[Lj] ? 1 : 0;
                        }
                    }
                }
            }
        }

        // Ties are rare here (a level shelf and level demand, an odd shipment), but some states are decided by the draw.
        Assert.True(states > 4000 && tied >= 5, $"{states} states, {tied} decided by the tie order");
    }

    /// <summary>A tie goes either way, by the secret draw: a level, empty LJ-MCRC shelf gets 5 + 4 or 4 + 5 kits of 9.</summary>
    [Fact]
    public void Need_TiedTypes_GoEitherWayByTheDraw()
    {
        var odd = new SupplySettings(8, 9, 5, 7);
        var outcomes = Enumerable.Range(0, 64)
            .Select(seed => Resupply.BlindSafe.Need(LjStudy, odd, [S(Lj, 0), S(Pbo, 0)], new SeededRandom(seed)))
            .Select(n => $"{n[Lj]}+{n[Pbo]}")
            .ToHashSet();
        Assert.Equal(["4+5", "5+4"], outcomes.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Three tied types (1:1:1, level shelf, no subjects): of 4 kits, each type gets one and the fourth goes to the type
    /// the tie order puts first, each about a third of the time over 6,000 draws (2,000 expected; 3 SDs is 110).
    /// </summary>
    [Fact]
    public void Need_ThreeTiedTypes_TheOddKitGoesToEachAboutEquallyOften()
    {
        var study = StudyFiles.Valid(Definitions.Randomized() with
        {
            Arms = [Definitions.Arm("A", "Active", 1, "KA"), Definitions.Arm("B", "Active 2", 1, "KB"), Definitions.Arm("C", "Control", 1, "KC")],
            Randomization = Definitions.Randomized().Randomization! with { BlockSizes = [3, 6] },
            KitTypes = [Definitions.Kit("KA", "Active bottle"), Definitions.Kit("KB", "Second active bottle"), Definitions.Kit("KC", "Control bottle")],
        });
        var random = new SeededRandom(7);
        var extra = new Dictionary<string, int>(StringComparer.Ordinal) { ["KA"] = 0, ["KB"] = 0, ["KC"] = 0 };
        for (var i = 0; i < 6000; i++)
        {
            var need = Resupply.BlindSafe.Need(study, new SupplySettings(4, 4, 5, 7), [S("KA", 0), S("KB", 0), S("KC", 0)], random);
            Assert.Equal(4, need.Values.Sum());
            extra[need.Single(kv => kv.Value == 2).Key]++;
        }

        Assert.All(extra.Values, n => Assert.InRange(n, 2000 - 110, 2000 + 110));
    }

    /// <summary>A random source that draws the given values in turn, then 0.</summary>
    private sealed class Draws(params int[] values) : IRandomSource
    {
        private int _next;

        public int Next(int maxExclusive) => _next < values.Length ? values[_next++] % maxExclusive : 0;
    }

    /// <summary>The in-ratio rule (simulated only): every split and demand of the same total gives the same composition, in the ratio.</summary>
    [Fact]
    public void InRatio_Blinded_CompositionIsTheAllocationRatioWhateverTheStock()
    {
        for (var total = 0; total < Levels.TriggerLevel; total++)
        {
            var compositions = new HashSet<string>();
            foreach (var (ljShelf, ljTransit, pboShelf, pboTransit) in Splits(total))
            {
                var need = Resupply.InRatio.Need(LjStudy, Levels, [S(Lj, ljShelf, ljTransit, 3), S(Pbo, pboShelf, pboTransit, 0)], ZeroRandom.Instance);
                Assert.Equal(need[Lj], need[Pbo]);
                compositions.Add($"{need[Lj]}/{need[Pbo]}");
            }

            // Up to the maximum, rounded up to whole 1:1 units.
            Assert.Equal([$"{(Levels.MaximumLevel - total + 1) / 2}/{(Levels.MaximumLevel - total + 1) / 2}"], compositions);
        }
    }

    [Theory]
    [InlineData(4, 6)]
    [InlineData(10, 2)]
    [InlineData(15, 2)]
    public void Need_Urgent_OrdersAboveTheTriggerFromTheTotal(int total, int expected)
    {
        Assert.Equal(expected, Resupply.BlindSafe.Need(LjStudy, Levels, [S(Lj, total), S(Pbo, 0)], ZeroRandom.Instance, urgent: true).Values.Sum());
        Assert.Equal(expected, Resupply.BlindSafe.Need(LjStudy, Levels, [S(Lj, 0), S(Pbo, total)], ZeroRandom.Instance, urgent: true).Values.Sum());
        Assert.Empty(Resupply.BlindSafe.Need(LjStudy, Levels, [S(Lj, total), S(Pbo, 0)], ZeroRandom.Instance));
    }

    [Fact]
    public void Need_Urgent_TheShortTypeGetsMost()
    {
        var need = Resupply.BlindSafe.Need(LjStudy, Levels, [S(Lj, 5), S(Pbo, 0)], ZeroRandom.Instance, urgent: true);
        AssertOrder(need, (Lj, 1), (Pbo, 4));
    }

    [Fact]
    public void Need_LargerThanOneShipment_CappedAtMaxKits()
    {
        var need = Resupply.BlindSafe.Need(LjStudy, new SupplySettings(90, 100, 5, 7), [], ZeroRandom.Instance);
        Assert.Equal(Shipment.MaxKits, need.Values.Sum());
        Assert.Equal(Shipment.MaxKits / 2, need[Lj]);
    }

    [Fact]
    public void Need_StockOfTypeNotInStudy_Ignored()
    {
        Assert.Empty(LjNeed(S(Lj, 3), S(Pbo, 3), S(Akk, 0)));
        Assert.DoesNotContain(Akk, LjNeed(S(Lj, 1), S(Pbo, 1), S(Akk, 0)).Keys);
    }

    [Fact]
    public void Need_OpenLabel_NoTypeForcedIn()
    {
        AssertOrder(Resupply.BlindSafe.Need(OpenLabelTwoTypes, Levels, [S("KA", 0), S("KB", 3)], ZeroRandom.Instance), ("KA", 5), ("KB", 2));
        AssertOrder(Resupply.BlindSafe.Need(OpenLabelTwoTypes, new SupplySettings(4, 6, 5, 7), [S("KA", 0), S("KB", 3)], ZeroRandom.Instance), ("KA", 3));
    }

    [Theory]
    [InlineData(0, 0, 5)]
    [InlineData(1, 0, 4)]
    [InlineData(0, 1, 4)]
    public void Need_SingleArmBelowTrigger_UpToMaximum(int available, int inTransit, int expected)
    {
        AssertOrder(Resupply.BlindSafe.Need(AkkStudy, new SupplySettings(2, 5, 5, 7), [S(Akk, available, inTransit)], ZeroRandom.Instance), (Akk, expected));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(1, 1)]
    public void Need_SingleArmAtOrAboveTrigger_Nothing(int available, int inTransit)
    {
        Assert.Empty(Resupply.BlindSafe.Need(AkkStudy, new SupplySettings(2, 5, 5, 7), [S(Akk, available, inTransit)], ZeroRandom.Instance));
    }

    [Fact]
    public void Need_SiteSupplyPassed_UsesItsLevelsNotTheStudys()
    {
        var study = StudyFiles.Valid(StudyFiles.Lj.WithSite(1, s => s with { Supply = Definitions.Supply(12, 20, 3, 7) }));
        StockLevel[] stock = [S(Lj, 5), S(Pbo, 5)];

        Assert.Equal(10, Resupply.BlindSafe.Need(study, study.FindSite("CN02")!.Supply, stock, ZeroRandom.Instance).Values.Sum());
        Assert.Equal(Resupply.BlindSafe.Need(study, study.Supply, stock, ZeroRandom.Instance), Resupply.BlindSafe.Need(study, study.FindSite("CN01")!.Supply, stock, ZeroRandom.Instance));
    }

    [Fact]
    public void Need_TriggerLevelZero_NeverOrders()
    {
        Assert.Empty(Resupply.BlindSafe.Need(LjStudy, new SupplySettings(0, 6, 5, 7), [], ZeroRandom.Instance));
    }

    [Fact]
    public void Need_Result_NeverHoldsZeroOrNegativeCounts()
    {
        for (var a = 0; a <= 8; a++)
        {
            for (var b = 0; b <= 8; b++)
            {
                Assert.All(Resupply.BlindSafe.Need(OpenLabelTwoTypes, Levels, [S("KA", a), S("KB", b)], ZeroRandom.Instance).Values, v => Assert.True(v > 0));
                Assert.All(LjNeed(S(Lj, a), S(Pbo, b)).Values, v => Assert.True(v > 0));
                Assert.All(Resupply.PerType.Need(LjStudy, Levels, [S(Lj, a), S(Pbo, b)], ZeroRandom.Instance).Values, v => Assert.True(v > 0));
            }
        }
    }

    [Theory]
    [InlineData(12, 12, 8, 4)]
    [InlineData(12, 0, 8, 4)]
    [InlineData(3, 12, 8, 4)]
    [InlineData(30, 2, 8, 4)]
    public void FillFromDepot_AnyDepotMix_ShipsTheSameNumberOfKits(int ljAtDepot, int pboAtDepot, int ljWanted, int pboWanted)
    {
        var wanted = new Dictionary<string, int> { [Lj] = ljWanted, [Pbo] = pboWanted };
        var filled = Resupply.FillFromDepot(wanted, new Dictionary<string, int> { [Lj] = ljAtDepot, [Pbo] = pboAtDepot });

        if (pboAtDepot == 0)
        {
            Assert.Null(filled);
            return;
        }

        Assert.NotNull(filled);
        Assert.Equal(ljWanted + pboWanted, filled.Values.Sum());
        Assert.True(filled[Lj] <= ljAtDepot && filled[Pbo] <= pboAtDepot);
        Assert.True(filled[Lj] >= 1 && filled[Pbo] >= 1);
        if (ljAtDepot >= ljWanted && pboAtDepot >= pboWanted)
        {
            Assert.Equal(wanted, filled);
        }
    }

    [Fact]
    public void FillFromDepot_TooFewKitsAltogether_IsNull()
    {
        Assert.Null(Resupply.FillFromDepot(new Dictionary<string, int> { [Lj] = 8, [Pbo] = 4 }, new Dictionary<string, int> { [Lj] = 5, [Pbo] = 5 }));
    }
}
