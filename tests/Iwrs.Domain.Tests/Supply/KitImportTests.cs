using System.Security.Cryptography;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class KitImportTests
{
    private static readonly Iwrs.Domain.Studies.StudyConfiguration OpenLabelLj = LjStudy with { Blinding = Iwrs.Domain.Studies.Blinding.OpenLabel };

    private static readonly KitLine[] Mixed =
    [
        Line("K7QX2M", Lj, "LOT-A", "2027-01-31"),
        Line("3HPA9W", Pbo, "  LOT-B  ", "2026-03-02"),
        Line("x9f2", Lj, "lot.c_1", "2030-12-31"),
    ];

    [Fact]
    public void Validate_GoodLines_AtDepotKitsInKitNumberOrder()
    {
        // Open-label: these lines' lots and dates are one type each, which a blinded list may not have (tested below).
        var result = KitImport.Validate(OpenLabelLj, Mixed, Today);

        // Kit-number order, not file order: a file sorted by type must not show through anywhere downstream.
        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Equal(
            [
                new Kit("3HPA9W", Pbo, "LOT-B", new DateOnly(2026, 3, 2), KitStatus.AtDepot, Kit.Depot, null, null, null),
                new Kit("K7QX2M", Lj, "LOT-A", new DateOnly(2027, 1, 31), KitStatus.AtDepot, Kit.Depot, null, null, null),
                new Kit("x9f2", Lj, "lot.c_1", new DateOnly(2030, 12, 31), KitStatus.AtDepot, Kit.Depot, null, null, null),
            ],
            result.Value);
    }

    [Fact]
    public void Validate_LotWithSurroundingSpaces_IsTrimmed()
    {
        var result = KitImport.Validate(OpenLabelLj, [Line("ABCD", lot: " L-7 ")], Today);

        Assert.Equal("L-7", Assert.Single(result.Value).Lot);
    }

    [Fact]
    public void Validate_EmptyList_RefusedWithFieldKits()
    {
        var result = KitImport.Validate(LjStudy, [], Today);

        Assert.Equal(["kits"], Fields(result));
        Assert.Equal("The kit list is not valid.", result.Error!.Message);
    }

    [Fact]
    public void Validate_ExactlyMaxKitsRandomlyNumbered_Accepted()
    {
        var lines = RandomlyNumbered(KitImport.MaxKits / 2, Lj, Pbo);

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Equal(KitImport.MaxKits, result.Value.Count);
    }

    [Fact]
    public void Validate_OneMoreThanMaxKits_Refused()
    {
        var lines = RandomlyNumbered(KitImport.MaxKits + 1, Akk);

        var result = KitImport.Validate(AkkStudy, lines, Today);

        Assert.Equal(["kits"], Fields(result));
        Assert.Contains("20000", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ABC")]
    [InlineData("A1B2C3D4E5F6G7H8J9K1L")]
    [InlineData("AB-12")]
    [InlineData("AB_12")]
    [InlineData("AB 12")]
    [InlineData(" AB12")]
    [InlineData("AB12 ")]
    [InlineData("AB/12")]
    [InlineData("AB#12")]
    [InlineData("ÄB12")]
    [InlineData("AB１2")]
    public void Validate_BadKitNumber_RefusedAtItsLine(string? kitNumber)
    {
        var result = KitImport.Validate(LjStudy, [Line("GOOD1"), Line(kitNumber), Line("GOOD2")], Today);

        Assert.Equal(["kits[1].kitNumber"], Fields(result));
    }

    [Theory]
    [InlineData("ABCD")]
    [InlineData("abcd")]
    [InlineData("0000")]
    [InlineData("A1B2C3D4E5F6G7H8J9K1")]
    [InlineData("Zz09")]
    public void IsKitNumber_FourToTwentyAsciiLettersOrDigits_True(string value)
    {
        Assert.True(KitImport.IsKitNumber(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ABC")]
    [InlineData("A1B2C3D4E5F6G7H8J9K1L")]
    [InlineData("AB-CD")]
    [InlineData("AB.CD")]
    [InlineData("AB CD")]
    [InlineData("ABCD\n")]
    [InlineData("ÄBCD")]
    [InlineData("ABC١")]
    public void IsKitNumber_AnythingElse_False(string? value)
    {
        Assert.False(KitImport.IsKitNumber(value));
    }

    [Fact]
    public void Validate_DuplicateKitNumbers_RefusedAtEveryLaterCopy()
    {
        var result = KitImport.Validate(LjStudy, [Line("DUP1"), Line("ONLY"), Line("DUP1", Pbo), Line("DUP1")], Today);

        Assert.Equal(["kits[2].kitNumber", "kits[3].kitNumber"], Fields(result));
        Assert.All(result.Error!.Errors!, e => Assert.Contains("'DUP1' appears twice", e.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_KitNumbersDifferingOnlyInCase_AreDistinct()
    {
        var result = KitImport.Validate(OpenLabelLj, [Line("abcd"), Line("ABCD")], Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
    }

    [Fact]
    public void Validate_BadKitNumberRepeated_ReportedAsBadNotAsDuplicate()
    {
        var result = KitImport.Validate(LjStudy, [Line("AB"), Line("AB")], Today);

        Assert.Equal(["kits[0].kitNumber", "kits[1].kitNumber"], Fields(result));
        Assert.All(result.Error!.Errors!, e => Assert.DoesNotContain("twice", e.Reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AKK-CAPS")]
    [InlineData("lj-caps")]
    [InlineData("LJ")]
    [InlineData("LJ-CAPS ")]
    public void Validate_UnknownKitType_RefusedListingTheStudysTypes(string? kitType)
    {
        var result = KitImport.Validate(LjStudy, [Line("ABCD"), Line("EFGH", kitType)], Today);

        Assert.Equal(["kits[1].kitType"], Fields(result));
        Assert.Contains("LJ-CAPS, PBO-CAPS", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("LOT 1")]
    [InlineData("LOT/1")]
    [InlineData("LOT#1")]
    [InlineData("LOT|1")]
    [InlineData("LOTÄ")]
    [InlineData("L\t1")]
    public void Validate_BadLot_RefusedAtItsLine(string? lot)
    {
        var result = KitImport.Validate(LjStudy, [Line("ABCD", lot: lot)], Today);

        Assert.Equal(["kits[0].lot"], Fields(result));
    }

    [Fact]
    public void Validate_LotOfFortyOneCharacters_Refused()
    {
        var result = KitImport.Validate(LjStudy, [Line("ABCD", lot: new string('L', 41))], Today);

        Assert.Equal(["kits[0].lot"], Fields(result));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("L-1_2.3")]
    [InlineData("LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL")]
    public void Validate_GoodLot_Accepted(string lot)
    {
        Assert.True(lot.Length <= 40);

        var result = KitImport.Validate(OpenLabelLj, [Line("ABCD", lot: lot)], Today);

        Assert.Equal(lot, Assert.Single(result.Value).Lot);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2027-1-05")]
    [InlineData("2027-01-5")]
    [InlineData("27-01-05")]
    [InlineData("05/01/2027")]
    [InlineData("2027/01/05")]
    [InlineData("20270105")]
    [InlineData("2027-02-30")]
    [InlineData("2027-13-01")]
    [InlineData("2027-01-05T00:00:00")]
    [InlineData(" 2027-01-05")]
    [InlineData("2027-01-05 ")]
    public void Validate_BadExpiryFormat_RefusedAsFormat(string? expiry)
    {
        var result = KitImport.Validate(LjStudy, [Line("ABCD", expiry: expiry)], Today);

        Assert.Equal(["kits[0].expiry"], Fields(result));
        Assert.Contains("yyyy-MM-dd", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-03-01")]
    [InlineData("2026-02-28")]
    [InlineData("2020-01-01")]
    public void Validate_ExpiryTodayOrEarlier_RefusedAsPassed(string expiry)
    {
        var result = KitImport.Validate(LjStudy, [Line("ABCD", expiry: expiry)], Today);

        Assert.Equal(["kits[0].expiry"], Fields(result));
        Assert.Contains(expiry + " has already passed", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ExpiryTomorrow_Accepted()
    {
        var result = KitImport.Validate(OpenLabelLj, [Line("ABCD", expiry: "2026-03-02")], Today);

        Assert.Equal(new DateOnly(2026, 3, 2), Assert.Single(result.Value).Expiry);
    }

    [Fact]
    public void Validate_SeveralBadLines_ListsEveryErrorWithItsPath()
    {
        KitLine[] lines =
        [
            Line("GOOD1"),
            Line("x", "NOPE", null, "tomorrow"),
            Line("GOOD2", Pbo),
            Line("GOOD1", Pbo, "LOT 9", "2026-03-01"),
            Line("GOOD3", null),
        ];

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Equal(
            [
                "kits[1].kitNumber", "kits[1].kitType", "kits[1].lot", "kits[1].expiry",
                "kits[3].kitNumber", "kits[3].lot", "kits[3].expiry",
                "kits[4].kitType",
            ],
            Fields(result));
    }

    [Fact]
    public void Validate_HundredsOfBadLines_StopsAtTwoHundredErrors()
    {
        var lines = Enumerable.Range(0, 300).Select(i => Line(Number("K", i), lot: null)).ToList();

        var fields = Fields(KitImport.Validate(LjStudy, lines, Today));

        Assert.Equal(200, fields.Length);
        Assert.Equal("kits[0].lot", fields[0]);
        Assert.Equal("kits[199].lot", fields[^1]);
    }

    [Fact]
    public void Validate_FortyKitsNumberedByType_RefusedWithFieldKits()
    {
        var lines = NumberedByType(20, Lj, Pbo);

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.Equal(["kits"], Fields(result));
        Assert.Contains("random", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NumberedByTypeButListedShuffled_StillRefused()
    {
        var lines = NumberedByType(20, Lj, Pbo).ToArray();
        RandomNumberGenerator.Shuffle(lines.AsSpan());

        Assert.Equal(["kits"], Fields(KitImport.Validate(LjStudy, lines, Today)));
    }

    [Fact]
    public void Validate_NumberedByTypeWithAnotherError_ReportsOnlyTheLineError()
    {
        var lines = NumberedByType(20, Lj, Pbo);
        lines[5] = lines[5] with { Lot = "" };

        Assert.Equal(["kits[5].lot"], Fields(KitImport.Validate(LjStudy, lines, Today)));
    }

    [Fact]
    public void Validate_FourHundredKitsNumberedAtRandom_Accepted()
    {
        // A list of 400 drawn at random: the chance the runs test refuses it is far below 1e-20.
        var lines = RandomlyNumbered(200, Lj, Pbo);

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Equal(400, result.Value.Count);
    }

    [Fact]
    public void Validate_FortyKitsNumberedAtRandom_AcceptedInAlmostEveryDraw()
    {
        // For 20 + 20 kits at random, P(runs <= 10) is about 0.0003: 1,000 draws refuse 0.3 lists on average,
        // and more than 5 (odds below one in a million) means a correctly numbered list is being refused.
        var refused = 0;
        for (var draw = 0; draw < 1000; draw++)
        {
            var result = KitImport.Validate(LjStudy, RandomlyNumbered(20, Lj, Pbo), Today);
            if (!result.IsSuccess)
            {
                Assert.Equal(["kits"], Fields(result));
                refused++;
            }
        }

        Assert.InRange(refused, 0, 5);
    }

    [Fact]
    public void Validate_FortyKitsInterleavedWithRandomLookingNumbers_Accepted()
    {
        // A fixed draw (15 LJ, 25 PBO): in number order the types change 18 times, 19 runs where a random list averages 19.75.
        var lines = Enumerable.Range(0, 40)
            .Select(i => Line(Number("N", (i * 7919) % 10007), SHA256.HashData(BitConverter.GetBytes(i))[0] % 2 == 0 ? Lj : Pbo))
            .ToList();

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
    }

    [Fact]
    public void Validate_NineteenKitsNumberedByType_NotRefused()
    {
        var lines = NumberedByType(10, Lj, Pbo).Take(19).ToList();

        var result = KitImport.Validate(LjStudy, lines, Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
    }

    [Fact]
    public void Validate_TwentyKitsNumberedByType_Refused()
    {
        Assert.Equal(["kits"], Fields(KitImport.Validate(LjStudy, NumberedByType(10, Lj, Pbo), Today)));
    }

    [Fact]
    public void Validate_SingleKitTypeStudy_SequentialNumbersNeverRefused()
    {
        var lines = NumberedByType(500, Akk);

        var result = KitImport.Validate(AkkStudy, lines, Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Equal(500, result.Value.Count);
    }

    [Fact]
    public void Validate_OpenLabelTwoTypeStudyListOfOneType_NotRefused()
    {
        var result = KitImport.Validate(OpenLabelLj, NumberedByType(40, Pbo), Today);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
    }

    [Fact]
    public void Validate_BlindedStudyListOfOneType_Refused()
    {
        var result = KitImport.Validate(LjStudy, NumberedByType(40, Pbo), Today);

        Assert.Equal(["kits"], Fields(result));
        Assert.Contains("every kit type", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ThreeTypesNumberedByType_Refused()
    {
        var study = StudyFiles.Valid(Definitions.Randomized() with
        {
            Arms = [Definitions.Arm("A", "A", 1, "KA"), Definitions.Arm("B", "B", 1, "KB"), Definitions.Arm("C", "C", 1, "KC")],
            KitTypes = [Definitions.Kit("KA", "A"), Definitions.Kit("KB", "B"), Definitions.Kit("KC", "C")],
            Randomization = Definitions.Randomized().Randomization! with { BlockSizes = [3, 6] },
        });

        Assert.Equal(["kits"], Fields(KitImport.Validate(study, NumberedByType(10, "KA", "KB", "KC"), Today)));
        Assert.True(KitImport.Validate(study, RandomlyNumbered(100, "KA", "KB", "KC"), Today).IsSuccess);
    }

    [Fact]
    public void LooksOrderedByType_FewerThanTwentyKits_AlwaysFalse()
    {
        var kits = Enumerable.Range(0, 19).Select(i => KitOf(Number("A", i), i < 10 ? Lj : Pbo)).ToList();

        Assert.False(KitImport.LooksOrderedByType(kits));
        Assert.False(KitImport.LooksOrderedByType([]));
    }

    [Fact]
    public void LooksOrderedByType_TwentyKitsInTwoBlocks_True()
    {
        var kits = Enumerable.Range(0, 20).Select(i => KitOf(Number("A", i), i < 10 ? Lj : Pbo)).ToList();

        Assert.True(KitImport.LooksOrderedByType(kits));
    }

    [Fact]
    public void LooksOrderedByType_BlocksInNumberOrderNotListOrder_SortsByNumberFirst()
    {
        // Listed alternating, but numbered so that in number order the types run in two blocks.
        var kits = Enumerable.Range(0, 40).Select(i => KitOf(Number(i % 2 == 0 ? "A" : "B", i), i % 2 == 0 ? Lj : Pbo)).ToList();

        Assert.True(KitImport.LooksOrderedByType(kits));
    }

    [Fact]
    public void LooksOrderedByType_NumberedInAlternation_False()
    {
        var kits = Enumerable.Range(0, 40).Select(i => KitOf(Number("A", i), i % 2 == 0 ? Lj : Pbo)).ToList();

        Assert.False(KitImport.LooksOrderedByType(kits));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(9, true)]
    [InlineData(10, true)]
    [InlineData(11, false)]
    [InlineData(21, false)]
    [InlineData(40, false)]
    public void LooksOrderedByType_RunsAroundHalfTheExpected_RefusedBelowHalf(int runs, bool expected)
    {
        // 20 + 20 kits: 1 + 2·20·20/40 = 21 runs expected; fewer than 10.5 is refused.
        var types = Enumerable.Range(0, runs).Select(r => r % 2 == 0 ? Lj : Pbo).ToList();
        var lengths = Enumerable.Repeat(1, runs).ToArray();
        lengths[0] += 20 - types.Count(t => t == Lj);
        lengths[1] += 20 - types.Count(t => t == Pbo);
        var kits = types
            .SelectMany((t, r) => Enumerable.Repeat(t, lengths[r]))
            .Select((t, i) => KitOf(Number("K", i), t))
            .ToList();
        Assert.Equal(40, kits.Count);

        Assert.Equal(expected, KitImport.LooksOrderedByType(kits));
    }

    /// <summary>
    /// Attacker review M1: blinded staff see usable-kit counts, which drop as kits near expiry, but no expiries; a lot or
    /// an expiry date of one type would make the kits that leave the count all of that type. A blinded list is refused
    /// unless every lot and every expiry date carries every kit type, with the offending lines named.
    /// </summary>
    [Fact]
    public void Validate_Blinded_LotOrExpiryOfOneType_RefusedWithTheLines()
    {
        var mixed = Enumerable.Range(0, 8).Select(i => Line(Number("M", i), i % 2 == 0 ? Lj : Pbo, i < 4 ? "LOT-A" : "LOT-B", i < 4 ? "2027-06-30" : "2027-09-30")).ToList();
        Assert.True(KitImport.Validate(LjStudy, mixed, Today).IsSuccess);

        var lotPerType = mixed.Select((l, i) => l with { Lot = i % 2 == 0 ? "LOT-LJ" : "LOT-PB", Expiry = "2027-06-30" }).ToList();
        var refused = KitImport.Validate(LjStudy, lotPerType, Today);
        Assert.Equal(KitImport.UnmixedCode, refused.Error!.Code);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"kits[{i}].lot"), refused.Error.Errors!.Select(e => e.Field));

        var expiryPerType = mixed.Select((l, i) => l with { Lot = "LOT-A", Expiry = i % 2 == 0 ? "2027-06-30" : "2027-07-31" }).ToList();
        refused = KitImport.Validate(LjStudy, expiryPerType, Today);
        Assert.Equal(KitImport.UnmixedCode, refused.Error!.Code);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"kits[{i}].expiry"), refused.Error.Errors!.Select(e => e.Field));

        // One stray kit of one type in its own lot: only its line is named.
        var stray = mixed.Append(Line("Z9999", Pbo, "LOT-C", "2027-06-30")).ToList();
        Assert.Equal(["kits[8].lot"], KitImport.Validate(LjStudy, stray, Today).Error!.Errors!.Select(e => e.Field));

        // An open-label or single-type study has no such rule.
        Assert.True(KitImport.Validate(AkkStudy, [Line("A0001", Akk, "LOT-X", "2027-06-30")], Today).IsSuccess);
    }
}
