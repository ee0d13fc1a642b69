using System.Globalization;
using Iwrs.Domain.Supply;
using Iwrs.Testing;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

/// <summary>
/// Kit numbers are shown to every blinded role, so a number that carries its type sorts a site's subjects by arm.
/// Attacker review 12 found lists the runs check (<see cref="KitImport.LooksOrderedByType"/>) let through: the type in
/// the last character, in the number's length, or a list numbered by type sent in lopsided parts. The numbering check
/// (<see cref="KitImport.NumberingTellsType"/>) refuses them, and it refuses no randomly numbered list.
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

        var two = KitImport.Validate(LjStudy, second, Today, [.. one.Value.Select(k => (k.KitNumber, k.KitType))]);

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
        var imported = KitImport.Validate(LjStudy, lines, Today).Value.Select(k => (k.KitNumber, k.KitType)).ToList();

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

            // With the list before it of the same study design (the same kit types).
            if (previous.TryGetValue(design, out var before))
            {
                var numbers = kits.Select(k => k.Number).ToHashSet(StringComparer.Ordinal);
                Assert.Null(KitImport.NumberingTellsType([.. kits, .. before.Where(p => !numbers.Contains(p.Number))]));
            }

            previous[design] = kits;
        }
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
