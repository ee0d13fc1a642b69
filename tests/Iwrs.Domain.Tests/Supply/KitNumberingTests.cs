using System.Globalization;
using Iwrs.Domain.Supply;
using Iwrs.Testing;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

/// <summary>
/// Kit numbers are shown to every blinded role, so a number that carries its type sorts a site's subjects by arm.
/// Attacker review 12 found lists the runs check (<see cref="KitImport.LooksOrderedByType"/>) let through: the type in
/// the last character, in the number's length, or a list numbered by type sent in lopsided parts. The numbering check
/// (<c>KitImport.NumberingTellsType</c>) refuses them, and it refuses no randomly numbered list.
/// </summary>
public sealed class KitNumberingTests
{
    [Fact]
    public void TypeInTheLastCharacter_Refused()
    {
        var lines = RandomlyNumbered(100, Lj, Pbo).Select(l => l with { KitNumber = l.KitNumber![..9] + (l.KitType == Lj ? "L" : "P") }).ToList();

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Equal(["kits"], Fields(result));
        Assert.Contains("character 1 from the end tells the type", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TypeInTheNumbersLength_Refused()
    {
        var lines = RandomlyNumbered(100, Lj, Pbo).Select(l => l with { KitNumber = l.KitType == Lj ? l.KitNumber![..8] : l.KitNumber![..9] }).ToList();

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Contains("the number's length tells the type", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TypeInAMiddleCharacter_Refused()
    {
        // Random numbers whose fourth character is 'X' for one type and anything else for the other.
        var lines = RandomlyNumbered(60, Lj, Pbo).Select(l => l with { KitNumber = l.KitType == Lj ? l.KitNumber![..3] + "X" + l.KitNumber[4..] : l.KitNumber!.Replace('X', 'Y') }).ToList();

        Assert.Contains("character 4 tells the type", KitImport.Validate(LjStudy, lines, Today).Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// A list numbered by type (A… probiotic, B… placebo), sent as two lopsided imports: each alone has too few kits of
    /// its rare type to tell anything, so the first is accepted; the second is refused with the kits already imported.
    /// </summary>
    [Fact]
    public void NumberedByTypeInTwoLopsidedImports_SecondRefusedWithTheFirst()
    {
        var first = Enumerable.Range(0, 38).Select(i => Line(Number("A", i), Lj)).Append(Line("Z0000", Pbo)).ToList();
        var second = Enumerable.Range(0, 38).Select(i => Line(Number("B", i), Pbo)).Append(Line("Y0000", Lj)).ToList();

        var one = KitImport.Validate(LjStudy, first, Today);
        Assert.True(one.IsSuccess);
        Assert.True(KitImport.Validate(LjStudy, second, Today).IsSuccess);

        var two = KitImport.Validate(LjStudy, second, Today, one.Value);

        Assert.Contains("character 1 tells the type far beyond chance, with the kits already imported", two.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// One lopsided list (39 probiotic A…, one placebo B0000) is not refused: one kit in 40 standing apart happens by
    /// chance one time in 40, so nothing can be told. The next list that numbers the same way is judged with it.
    /// </summary>
    [Fact]
    public void OneLopsidedList_TooFewOfTheRareTypeToTell_Accepted()
    {
        var lines = Enumerable.Range(0, 39).Select(i => Line(Number("A", i), Lj)).Append(Line("B0000", Pbo)).ToList();

        Assert.True(KitImport.Validate(LjStudy, lines, Today).IsSuccess);
        Assert.Null(KitImport.NumberingTellsType([.. lines.Select(l => (l.KitNumber!, l.KitType!))]));
    }

    [Fact]
    public void SentAgain_KitsAlreadyImportedCountOnce()
    {
        // The whole list again (the import skips kits it has): the check sees each kit once, not a doubled list.
        var lines = RandomlyNumbered(30, Lj, Pbo);
        var imported = KitImport.Validate(LjStudy, lines, Today).Value;

        Assert.True(KitImport.Validate(LjStudy, lines, Today, imported).IsSuccess);
    }

    /// <summary>
    /// No randomly numbered list is refused: 400 lists, drawn with a seed, of 20 to 2,000 kits, in the ratio 1:1, 2:1
    /// or 3 types, numbered at random or in sequence (K00001…, types assigned at random), each checked alone and with
    /// the list before it of the same kit types.
    /// </summary>
    [Fact]
    public void RandomlyTypedLists_NeverRefused()
    {
        var random = new SeededRandom(1202);
        var previous = new Dictionary<int, List<(string Number, string Type)>>();
        for (var list = 0; list < 400; list++)
        {
            var count = 20 + random.Next(1_981);
            var design = list % 3;
            string[] types = design switch { 0 => [Lj, Pbo], 1 => [Lj, Lj, Pbo], _ => ["KA", "KB", "KC"] };
            var sequential = list % 2 == 0;
            var offset = random.Next(90_000);
            var kits = Enumerable.Range(0, count)
                .Select(i => (Number: sequential ? "K" + (offset + i).ToString("D5", CultureInfo.InvariantCulture) : RandomNumber(random), Type: types[random.Next(types.Length)]))
                .DistinctBy(k => k.Number)
                .ToList();

            Assert.Null(KitImport.NumberingTellsType(kits));
            Assert.Null(KitImport.NumberedInBalancedBlocks(kits));

            // With the list before it of the same study design (the same kit types).
            if (previous.TryGetValue(design, out var before))
            {
                var numbers = kits.Select(k => k.Number).ToHashSet(StringComparer.Ordinal);
                List<(string Number, string Type)> both = [.. kits, .. before.Where(p => !numbers.Contains(p.Number))];
                Assert.Null(KitImport.NumberingTellsType(both));
                Assert.Null(KitImport.NumberedInBalancedBlocks(both));
            }

            previous[design] = kits;
        }
    }

    /// <summary>
    /// Attacker review 13: a list made in permuted blocks of consecutive numbers (each block of 2, 4 or 6 holds the
    /// types equally, in random order) shows in no single character, and its types change more often than chance, so
    /// the runs check passes it; yet a kit's neighbours tell its type. Refused, naming the block.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(6)]
    public void PermutedBlocksOfConsecutiveNumbers_Refused(int block)
    {
        var random = new SeededRandom(1300 + block);
        var lines = new List<KitLine>();
        for (var b = 0; b < 400 / block; b++)
        {
            var shuffled = KitChoice.Pick([.. Enumerable.Range(0, block).Select(i => i % 2 == 0 ? Lj : Pbo)], block, random);
            lines.AddRange(shuffled.Select((t, i) => Line("K" + ((b * block) + i).ToString("D5", CultureInfo.InvariantCulture), t)));
        }

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Contains($"every {block} kits hold the types in their ratio", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void PermutedBlocks_TwoToOne_Refused_OffsetFromTheFirstNumber()
    {
        // Blocks of 3 (two probiotic, one placebo), the list starting one kit into a block.
        var random = new SeededRandom(1399);
        var types = Enumerable.Range(0, 100).SelectMany(_ => KitChoice.Pick([Lj, Lj, Pbo], 3, random)).Skip(1).ToList();
        var kits = types.Select((t, i) => (Number: "N" + (5000 + i).ToString(CultureInfo.InvariantCulture), Type: t)).ToList();

        Assert.Equal(3, KitImport.NumberedInBalancedBlocks(kits));
    }

    /// <summary>
    /// Attacker review 13 (a refusal that was wrong): the depot's second batch, its own lot and number range, leans 2:1.
    /// A blinded shipment comes from one batch, whose printed lot tells it apart anyway, so its range tells nothing
    /// more; each batch is judged on its own, with its kits already imported.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SecondBatchInItsOwnLotAndRange_LeaningTwoToOne_Accepted(bool randomNumbers)
    {
        var random = new SeededRandom(1313);
        var first = Enumerable.Range(0, 1000).Select(i => Line("K" + (100000 + i).ToString(CultureInfo.InvariantCulture), random.Next(2) == 0 ? Lj : Pbo, "LOT-1")).ToList();
        var imported = KitImport.Validate(LjStudy, first, Today);
        Assert.True(imported.IsSuccess);
        var second = Enumerable.Range(0, 1200).Select(i => Line(
            randomNumbers ? "K" + random.Next(100_000_000).ToString("D8", CultureInfo.InvariantCulture) : "K" + (200000 + i).ToString(CultureInfo.InvariantCulture),
            random.Next(3) < 2 ? Lj : Pbo,
            "LOT-2")).DistinctBy(l => l.KitNumber).ToList();

        var result = KitImport.Validate(LjStudy, second, Today, imported.Value);

        Assert.True(result.IsSuccess, result.Error?.Errors?[0].Reason);
    }

    /// <summary>
    /// Attacker review 13: a part that re-lists kits already imported with the other type was judged by the type it
    /// claimed, and its new kits were written before the first conflict. Now a kit the study has with another type, lot
    /// or expiry refuses the whole list before anything is written, and stored kits count as stored.
    /// </summary>
    [Fact]
    public void KitsSentAgainWithOtherData_WholeListRefusedAsAConflict()
    {
        var part1 = Enumerable.Range(0, 1000).Select(i => Line("Z" + i.ToString("D4", CultureInfo.InvariantCulture), Lj)).Append(Line("A0000", Pbo)).ToList();
        var imported = KitImport.Validate(LjStudy, part1, Today);
        Assert.True(imported.IsSuccess);
        var part2 = Enumerable.Range(0, 1000).Select(i => Line("B" + i.ToString("D4", CultureInfo.InvariantCulture), Pbo))
            .Append(Line("C0000", Lj))
            .Concat(part1.Take(3).Select(l => l with { KitType = Pbo }))
            .ToList();

        var result = KitImport.Validate(LjStudy, part2, Today, imported.Value);

        Assert.Equal("kit-conflict", result.Error!.Code);
        Assert.Contains("3 kit(s) already exist with a different type, lot or expiry: Z0000, Z0001, Z0002", result.Error.Message, StringComparison.Ordinal);

        // Without the re-listed kits, the new part is refused with the stored ones: the first character tells the type.
        Assert.Contains("character 1 tells the type", KitImport.Validate(LjStudy, [.. part2.Take(1001)], Today, imported.Value).Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    /// <summary>How small a list the numbering check can judge: the type letter at the end is caught from these sizes on, not below (the README states them).</summary>
    [Theory]
    [InlineData(23, 24, new[] { Lj, Pbo })]
    [InlineData(44, 45, new[] { Lj, Lj, Pbo })]
    [InlineData(44, 45, new[] { "KA", "KB", "KC" })]
    public void TypeLetterAtTheEnd_CaughtFromTheStatedSize(int missedAt, int caughtAt, string[] ratio)
    {
        // The type's first letter (L, P; or its last: A, B, C) ends every number.
        (string Number, string Type)[] List(int count) => [.. Enumerable.Range(0, count)
            .Select(i => ratio[i % ratio.Length])
            .Select((t, i) => ("K" + i.ToString("D6", CultureInfo.InvariantCulture) + (t.StartsWith('K') ? t[^1] : t[0]), t))];

        Assert.Null(KitImport.NumberingTellsType(List(missedAt)));
        Assert.NotNull(KitImport.NumberingTellsType(List(caughtAt)));
    }

    [Fact]
    public void UpperTail_MatchesTheClosedFormForEvenFreedom()
    {
        foreach (var freedom in new[] { 2, 4, 6, 10, 20, 40, 80, 122, 200 })
        {
            foreach (var x in new[] { 0.1, 0.5, 1, 2, 5, 10, 20, 30, 50, 80, 120, 160, 200, 300, 400 })
            {
                // Q(m, x/2) = e^(-x/2) Σ_{k<m} (x/2)^k / k!, summed in log space.
                var half = x / 2;
                var logs = Enumerable.Range(0, freedom / 2).Select(k => (k * Math.Log(half)) - ChiSquare.LogGamma(k + 1) - half).ToList();
                var max = logs.Max();
                var expected = Math.Exp(max) * logs.Sum(l => Math.Exp(l - max));
                if (expected > 1e-280)
                {
                    var actual = ChiSquare.UpperTail(x, freedom);
                    Assert.True(Math.Abs(actual - expected) <= (1e-8 * expected) + 1e-15, $"df {freedom} x {x}: {actual} vs {expected}");
                }
            }
        }
    }

    /// <summary>
    /// Attacker review 14: lots and expiry dates each mixed, but every lot with one date of one type (a 2 × 2 square).
    /// The printed lot and date told the type, and the numbering check, judging batches of one type, saw nothing.
    /// Every lot and expiry together must now carry every type.
    /// </summary>
    [Fact]
    public void LotsAndDatesMixedButEveryPairOfOneType_Refused()
    {
        (string Lot, string Expiry, string Type)[] cells = [("L1", "2027-06-30", Lj), ("L1", "2027-09-30", Pbo), ("L2", "2027-06-30", Pbo), ("L2", "2027-09-30", Lj)];
        var random = new SeededRandom(14);
        var lines = cells.SelectMany(c => Enumerable.Range(0, 25).Select(_ => Line(RandomNumber(random) + (c.Type == Lj ? "L" : "P"), c.Type, c.Lot, c.Expiry))).DistinctBy(l => l.KitNumber).ToList();

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Equal(KitImport.UnmixedCode, result.Error!.Code);
        Assert.Contains("lot 'L1' with expiry 2027-06-30 does not carry every kit type", result.Error.Errors![0].Reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// Attacker review 14: 60 lots of 19 kits, each number ending in its type's letter. Each batch alone is too small
    /// to tell; the test is stratified by batch, so their evidence adds up.
    /// </summary>
    [Fact]
    public void ManySmallBatches_TypeLetterInEveryNumber_Refused()
    {
        var random = new SeededRandom(1419);
        var lines = Enumerable.Range(0, 60).SelectMany(lot => Enumerable.Range(0, 19).Select(i =>
        {
            var type = i % 2 == 0 ? Lj : Pbo;
            return Line(RandomNumber(random) + (type == Lj ? "L" : "P"), type, "LOT-" + lot.ToString(CultureInfo.InvariantCulture));
        })).DistinctBy(l => l.KitNumber).ToList();

        Assert.Contains("character 1 from the end tells the type", KitImport.Validate(LjStudy, lines, Today).Error!.Errors![0].Reason, StringComparison.Ordinal);

        // The same 60 lots sent one by one: each is judged with the study's other batches too.
        var study = new List<Kit>();
        string? refused = null;
        foreach (var lot in lines.GroupBy(l => l.Lot))
        {
            var one = KitImport.Validate(LjStudy, [.. lot], Today, study);
            if (!one.IsSuccess)
            {
                refused = one.Error!.Errors![0].Reason;
                break;
            }

            study.AddRange(one.Value);
        }

        Assert.Contains("over the study's batches with these kits", refused, StringComparison.Ordinal);
    }

    /// <summary>
    /// Attacker review 14 (a refusal that was wrong): a batch imported before these checks, made in permuted blocks,
    /// refused every later import of other lots. Only the batches an import goes into are judged for blocks, and the
    /// study-wide test is skipped when the study's kits already fail it without the new ones.
    /// </summary>
    [Fact]
    public void OldBatchThatWouldBeRefusedNow_DoesNotRefuseARandomImportOfAnotherLot()
    {
        var random = new SeededRandom(1402);
        var old = Enumerable.Range(0, 200).SelectMany(_ => KitChoice.Pick([Lj, Pbo], 2, random))
            .Select((t, i) => new Kit("OLD" + i.ToString("D5", CultureInfo.InvariantCulture), t, "LOT-OLD", new DateOnly(2027, 6, 30), KitStatus.AtDepot, Kit.Depot, null, null, null))
            .ToList();
        var typedOld = old.Select((k, i) => k with { KitNumber = "T" + i.ToString("D4", CultureInfo.InvariantCulture) + (k.KitType == Lj ? "L" : "P"), Lot = "LOT-T" }).ToList();
        var fresh = Enumerable.Range(0, 200).Select(_ => Line(RandomNumber(random), random.Next(2) == 0 ? Lj : Pbo, "LOT-NEW")).DistinctBy(l => l.KitNumber).ToList();

        Assert.True(KitImport.Validate(LjStudy, fresh, Today, old).IsSuccess);
        Assert.True(KitImport.Validate(LjStudy, fresh, Today, typedOld).IsSuccess);

        // A new part of the old block batch is still judged with it.
        var more = Enumerable.Range(0, 20).SelectMany(_ => KitChoice.Pick([Lj, Pbo], 2, random)).Select((t, i) => Line("OLE" + i.ToString("D5", CultureInfo.InvariantCulture), t, "LOT-OLD", "2027-06-30")).ToList();
        Assert.Contains("every 2 kits hold the types", KitImport.Validate(LjStudy, more, Today, old).Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NumberedByTypeInBlocks_Refused_WhateverTheRuns()
    {
        // Types in number order alternate often enough for the runs check, but the first character gives them away.
        var kits = Enumerable.Range(0, 40).Select(i => (Number: (i % 2 == 0 ? "A" : "B") + (i / 2).ToString("D4", CultureInfo.InvariantCulture), Type: i % 2 == 0 ? Lj : Pbo)).ToList();

        Assert.Equal("character 1", KitImport.NumberingTellsType(kits));
        Assert.Null(KitImport.NumberingTellsType([.. kits.Take(19)]));
    }

    [Theory]
    [InlineData(3.841459, 1, 0.05)]
    [InlineData(6.634897, 1, 0.01)]
    [InlineData(18.307038, 10, 0.05)]
    [InlineData(10.0, 10, 0.440493)]
    [InlineData(40.0, 1, 2.539629e-10)]
    [InlineData(100.0, 30, 1.856802e-9)]
    [InlineData(0.5, 3, 0.918891)]
    public void UpperTail_KnownValues(double statistic, int freedom, double expected)
    {
        Assert.Equal(expected, ChiSquare.UpperTail(statistic, freedom), expected * 1e-3);
    }

    [Fact]
    public void UpperTail_Edges()
    {
        Assert.Equal(1, ChiSquare.UpperTail(0, 4));
        Assert.Equal(1, ChiSquare.UpperTail(-1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChiSquare.UpperTail(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChiSquare.UpperTail(double.NaN, 1));
        Assert.Equal(Math.Log(24), ChiSquare.LogGamma(5), 1e-12);
        Assert.Equal(Math.Log(Math.Sqrt(Math.PI)), ChiSquare.LogGamma(0.5), 1e-12);
    }

    private static string RandomNumber(SeededRandom random) =>
        new([.. Enumerable.Range(0, 8).Select(_ => "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[random.Next(34)])]);
}
