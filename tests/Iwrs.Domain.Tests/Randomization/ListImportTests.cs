using System.Text;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Randomization.RandomizationStudies;

namespace Iwrs.Domain.Tests.Randomization;

public sealed class ListImportTests
{
    private const string Header = "stratum,position,block,blockSize,arm";

    /// <summary>A file with the canonical header and the given rows, LF line ends.</summary>
    private static string Csv(params string[] rows) => string.Join('\n', [Header, .. rows]) + "\n";

    // Unstratified study (one stratum "all", arms A:B 1:1, blocks 2 and 4); the first data row is line 2.
    private static readonly string[] ValidAll = ["all,1,1,2,A", "all,2,1,2,B", "all,3,2,4,B", "all,4,2,4,B", "all,5,2,4,A", "all,6,2,4,A"];

    private static Result<RandomizationList> Import(string csv, int minimum = 1) =>
        ListImport.FromCsv(Unstratified, csv, minimum);

    [Fact]
    public void FromCsv_GeneratedCanonicalText_SameCommitment()
    {
        var generated = AssertOk(ListGenerator.Generate(Lj, KnownSeed, 150));

        var imported = AssertOk(ListImport.FromCsv(Lj, generated.CanonicalText, 150));

        Assert.Equal("imported", imported.Source);
        Assert.Equal(generated.CanonicalText, imported.CanonicalText);
        Assert.Equal(generated.Commitment, imported.Commitment);
        Assert.Equal(generated.Slots, imported.Slots);
    }

    [Fact]
    public void FromCsv_SasStyleFile_SameCanonicalFormAsTheTidyOne()
    {
        // Columns reordered, header in other case with spaces, quoted fields, CRLF, a byte-order mark, rows out
        // of order and blank lines at the end: what SAS, R or Excel may write for the same list.
        var tidy = AssertOk(Import(Csv(ValidAll)));
        var messy = "\uFEFF Arm ,\"STRATUM\",Position,BLOCKSIZE , block\r\n"
            + "\"A\",\"all\",5,4,2\r\n"
            + "B,all,2,2,1\r\n"
            + "A, all ,1,2,1\r\n"
            + "B,all,03,4,2\r\n"
            + "B,\"all\",4,4,2\r\n"
            + "\"A\",all,6,\"4\",2\r\n"
            + "\r\n\r\n";

        var imported = AssertOk(Import(messy));

        Assert.Equal(tidy.CanonicalText, imported.CanonicalText);
        Assert.Equal(tidy.Commitment, imported.Commitment);
    }

    [Fact]
    public void FromCsv_StrataRowsInterleaved_OrderedByStratumThenPosition()
    {
        var csv = Csv("ecog=1,1,1,2,A", "ecog=0,1,1,2,B", "ecog=1,2,1,2,B", "ecog=0,2,1,2,A");

        var list = AssertOk(ListImport.FromCsv(ByEcog, csv, 2));

        Assert.Equal(
            [new ListSlot("ecog=0", 1, 1, 2, "B"), new ListSlot("ecog=0", 2, 1, 2, "A"), new ListSlot("ecog=1", 1, 1, 2, "A"), new ListSlot("ecog=1", 2, 1, 2, "B")],
            list.Slots);
        Assert.Equal(Header + "\necog=0,1,1,2,B\necog=0,2,1,2,A\necog=1,1,1,2,A\necog=1,2,1,2,B\n", list.CanonicalText);
    }

    [Fact]
    public void FromCsv_IncompleteLastBlockWithinShares_Accepted()
    {
        var list = AssertOk(Import(Csv("all,1,1,2,A", "all,2,1,2,B", "all,3,2,4,B", "all,4,2,4,A", "all,5,2,4,B")));

        Assert.Equal(5, list.ForStratum("all").Count);
    }

    [Fact]
    public void FromCsv_QuotedFieldWithEscapedQuoteAndComma_ReadAsOneValue()
    {
        var result = Import(Csv([.. ValidAll.Take(5), "all,6,2,4,\"A\"\",x\""]));

        AssertSingleError(result, "line 7", "arm 'A\",x'");
    }

    [Fact]
    public void FromCsv_Empty_HeaderMissing()
    {
        AssertSingleError(Import(""), "line 1", "header is missing");
        AssertSingleError(Import("\n\r\n"), "line 1", "header is missing");
    }

    [Fact]
    public void FromCsv_HeaderOnly_StratumHasNoRows()
    {
        AssertSingleError(Import(Header), "stratum all", "no rows");
    }

    [Fact]
    public void FromCsv_HeaderWithExtraColumn_Rejected()
    {
        var csv = Header + ",comment\n" + string.Join('\n', ValidAll.Select(r => r + ",x"));

        AssertSingleError(Import(csv), "line 1", "'comment' is not expected");
    }

    [Fact]
    public void FromCsv_HeaderMissingAndDuplicateColumns_AllReported()
    {
        var csv = "stratum,position,position,arm\nall,1,1,A\n";

        var error = AssertInvalid(Import(csv), "line 1", "line 1", "line 1");

        Assert.Contains(error.Errors!, e => e.Reason.Contains("'position' appears twice", StringComparison.Ordinal));
        Assert.Contains(error.Errors!, e => e.Reason.Contains("'block' is missing", StringComparison.Ordinal));
        Assert.Contains(error.Errors!, e => e.Reason.Contains("'blockSize' is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void FromCsv_UnknownStratum_ErrorOnLine()
    {
        var result = ListImport.FromCsv(ByEcog, Csv("ecog=0,1,1,2,A", "ecog=0,2,1,2,B", "ecog=2,1,1,2,A", "ecog=1,1,1,2,A", "ecog=1,2,1,2,B"), 2);

        AssertSingleError(result, "line 4", "stratum 'ecog=2' is not a stratum");
    }

    [Fact]
    public void FromCsv_UnknownArm_ErrorOnLineAndStratumNotCheckedFurther()
    {
        var result = Import(Csv([.. ValidAll.Take(2), "all,3,2,4,C", .. ValidAll.Skip(3)]));

        AssertSingleError(result, "line 4", "arm 'C' is not an arm");
    }

    [Theory]
    [InlineData("position", "all,x,1,2,A")]
    [InlineData("position", "all,1.0,1,2,A")]
    [InlineData("position", "all,,1,2,A")]
    [InlineData("block", "all,1,one,2,A")]
    [InlineData("blockSize", "all,1,1,2e0,A")]
    [InlineData("blockSize", "all,1,1,99999999999,A")]
    public void FromCsv_NonIntegerNumber_ErrorOnLine(string column, string row)
    {
        var result = Import(Csv([row, .. ValidAll.Skip(1)]));

        AssertSingleError(result, "line 2", column + " '");
    }

    [Theory]
    [InlineData("all,0,1,2,A", "position 0")]
    [InlineData("all,1,-1,2,A", "block -1")]
    public void FromCsv_NumberBelowOne_ErrorOnLine(string row, string reasonPart)
    {
        AssertSingleError(Import(Csv([row, .. ValidAll.Skip(1)])), "line 2", reasonPart);
    }

    [Fact]
    public void FromCsv_WrongNumberOfFields_ErrorOnLine()
    {
        AssertSingleError(Import(Csv([.. ValidAll.Take(5), "all,6,2,4"])), "line 7", "has 4 fields");
    }

    [Fact]
    public void FromCsv_BlankLineBetweenRows_ErrorOnLine()
    {
        AssertSingleError(Import(Csv([.. ValidAll.Take(2), "", .. ValidAll.Skip(2)])), "line 4", "blank");
    }

    [Fact]
    public void FromCsv_QuoteInsideUnquotedField_ErrorOnLine()
    {
        AssertSingleError(Import(Csv([.. ValidAll.Take(5), "all,6,2,4,A\"B"])), "line 7", "quote inside an unquoted field");
    }

    [Fact]
    public void FromCsv_TextAfterClosingQuote_ErrorOnLine()
    {
        AssertSingleError(Import(Csv([.. ValidAll.Take(5), "all,6,2,4,\"A\"B"])), "line 7", "after a closing quote");
    }

    [Fact]
    public void FromCsv_UnclosedQuote_ErrorOnTheLineItStarts()
    {
        AssertSingleError(Import(Csv([.. ValidAll.Take(5), "all,6,2,4,\"A", "all,7,3,2,B"])), "line 7", "not closed");
    }

    [Fact]
    public void FromCsv_QuotedLineBreak_LaterLinesNumberedPhysically()
    {
        // A quoted field may span lines (RFC 4180); errors must still point at the line an editor shows.
        var csv = Csv([.. ValidAll.Take(5), "all,6,2,4,\"A\nB\"", "all,7,3,2,X", "all,8,3,2,A"]);

        AssertInvalid(Import(csv), "line 7", "line 9");
    }

    [Fact]
    public void FromCsv_DuplicatePosition_ErrorOnStratum()
    {
        var result = Import(Csv([.. ValidAll, "all,6,3,2,B"]));

        AssertSingleError(result, "stratum all", "position 6 appears twice (lines 7 and 8)");
    }

    [Fact]
    public void FromCsv_PositionGap_ErrorOnStratumNamingMissingPositions()
    {
        var result = Import(Csv([.. ValidAll.Take(2), .. ValidAll.Skip(3), "all,8,3,2,B", "all,9,3,2,A"]));

        AssertSingleError(result, "stratum all", "missing: 3, 7");
    }

    [Fact]
    public void FromCsv_PositionsNotFromOne_ErrorOnStratum()
    {
        AssertSingleError(Import(Csv("all,2,1,2,A", "all,3,1,2,B")), "stratum all", "missing: 1");
    }

    [Fact]
    public void FromCsv_HugeStrayPosition_ErrorWithoutListingEveryGap()
    {
        AssertSingleError(Import(Csv([.. ValidAll, "all,2000000000,3,2,A"])), "stratum all", "missing: 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, …");
    }

    [Fact]
    public void FromCsv_BlockNumbersNotFromOne_ErrorOnStratum()
    {
        var result = Import(Csv("all,1,2,2,A", "all,2,2,2,B"));

        AssertSingleError(result, "stratum all", "block 2 where block 1 was expected");
    }

    [Fact]
    public void FromCsv_BlockRowsNotContiguous_ErrorOnStratum()
    {
        var result = Import(Csv("all,1,1,2,A", "all,2,2,2,B", "all,3,1,2,B", "all,4,2,2,A"));

        AssertSingleError(result, "stratum all", "position 3 (line 4) is in block 1 where block 3 was expected");
    }

    [Fact]
    public void FromCsv_BlockNumberSkipped_ErrorOnStratum()
    {
        AssertSingleError(Import(Csv("all,1,1,2,A", "all,2,1,2,B", "all,3,3,2,B", "all,4,3,2,A")), "stratum all", "block 3 where block 2");
    }

    [Fact]
    public void FromCsv_BlockSizeDiffersWithinBlock_ErrorOnStratum()
    {
        var result = Import(Csv([.. ValidAll.Take(3), "all,4,2,2,B", .. ValidAll.Skip(4)]));

        AssertSingleError(result, "stratum all", "block 2 gives different block sizes (4, 2)");
    }

    [Fact]
    public void FromCsv_BlockSizeNotConfigured_ErrorOnStratum()
    {
        var result = Import(Csv("all,1,1,6,A", "all,2,1,6,B", "all,3,1,6,A", "all,4,1,6,B", "all,5,1,6,A", "all,6,1,6,B"));

        AssertSingleError(result, "stratum all", "block size 6, which is not one of the configured sizes (2, 4)");
    }

    [Fact]
    public void FromCsv_CompleteBlockUnbalanced_ErrorOnStratum()
    {
        var result = Import(Csv([.. ValidAll.Take(2), "all,3,2,4,A", .. ValidAll.Skip(3)]));

        AssertSingleError(result, "stratum all", "block 2 is not balanced: it holds A×3, B×1; a block of 4 holds A×2, B×2");
    }

    [Fact]
    public void FromCsv_TwoToOneBlockBalancedToRatio_Accepted()
    {
        var list = AssertOk(ListImport.FromCsv(TwoToOne, Csv("ecog=0,1,1,3,A", "ecog=0,2,1,3,B", "ecog=0,3,1,3,A", "ecog=1,1,1,3,B", "ecog=1,2,1,3,A"), 2));

        Assert.Equal(5, list.Slots.Count);
    }

    [Fact]
    public void FromCsv_TwoToOneBlockEvenlySplit_NotBalancedToRatio()
    {
        var csv = Csv("ecog=0,1,1,6,A", "ecog=0,2,1,6,B", "ecog=0,3,1,6,A", "ecog=0,4,1,6,B", "ecog=0,5,1,6,A", "ecog=0,6,1,6,B", "ecog=1,1,1,3,A");

        AssertSingleError(ListImport.FromCsv(TwoToOne, csv, 1), "stratum ecog=0", "a block of 6 holds A×4, B×2");
    }

    [Fact]
    public void FromCsv_IncompleteBlockBeforeTheLast_ErrorOnStratum()
    {
        var result = Import(Csv("all,1,1,4,A", "all,2,1,4,B", "all,3,2,2,A", "all,4,2,2,B"));

        AssertSingleError(result, "stratum all", "block 1 has 2 of its 4 rows; only the last block");
    }

    [Fact]
    public void FromCsv_IncompleteLastBlockOverAnArmsShare_ErrorOnStratum()
    {
        var result = Import(Csv([.. ValidAll.Take(2), "all,3,2,4,A", "all,4,2,4,A", "all,5,2,4,A"]));

        AssertSingleError(result, "stratum all", "incomplete last block 2 holds A×3, B×0");
    }

    [Fact]
    public void FromCsv_BlockLongerThanItsSize_ErrorOnStratum()
    {
        var result = Import(Csv("all,1,1,2,A", "all,2,1,2,B", "all,3,1,2,A", "all,4,1,2,B"));

        AssertSingleError(result, "stratum all", "block 1 has 4 rows, more than its block size 2");
    }

    [Fact]
    public void FromCsv_StratumMissing_ErrorOnStratum()
    {
        var result = ListImport.FromCsv(ByEcog, Csv("ecog=0,1,1,2,A", "ecog=0,2,1,2,B"), 2);

        AssertSingleError(result, "stratum ecog=1", "no rows");
    }

    [Fact]
    public void FromCsv_FewerSlotsThanTheMinimum_ErrorOnStratum()
    {
        AssertSingleError(Import(Csv(ValidAll), minimum: 8), "stratum all", "has 6 slots, not enough: at least 8");
    }

    [Fact]
    public void FromCsv_MoreThan200000Rows_ErrorOnFirstRowOverTheLimit()
    {
        var csv = new StringBuilder(Header).Append('\n');
        for (var p = 1; p <= 200_001; p++)
        {
            csv.Append("all,").Append(p).Append(',').Append((p + 1) / 2).Append(",2,").Append(p % 2 == 1 ? "A" : "B").Append('\n');
        }

        AssertSingleError(Import(csv.ToString()), "line 200002", "more than 200000 rows");
    }

    [Fact]
    public void FromCsv_ExactlyTheRowLimitWithTrailingBlankLines_Accepted()
    {
        var csv = new StringBuilder(Header).Append('\n');
        for (var p = 1; p <= 200_000; p++)
        {
            csv.Append("all,").Append(p).Append(',').Append((p + 1) / 2).Append(",2,").Append(p % 2 == 1 ? "A" : "B").Append('\n');
        }

        var list = AssertOk(Import(csv.Append("\n\n").ToString()));

        Assert.Equal(200_000, list.Slots.Count);
    }

    [Fact]
    public void FromCsv_SeveralProblems_AllReportedAtOnce()
    {
        var csv = Csv(
            "ecog=0,1,1,2,A",
            "ecog=0,2,1,2,C",        // line 3: unknown arm
            "ecog=9,1,1,2,A",        // line 4: unknown stratum
            "ecog=0,x,1,2,A",        // line 5: not an integer
            "ecog=1,1,1,2,A",
            "ecog=1,2,1,2,A");       // stratum ecog=1: block 1 unbalanced
        var result = ListImport.FromCsv(ByEcog, csv, 2);

        AssertInvalid(result, "line 3", "line 4", "line 5", "stratum ecog=1");
    }

    [Fact]
    public void FromCsv_SeveralStructuralProblems_EveryStratumReported()
    {
        var generated = AssertOk(ListGenerator.Generate(Lj, KnownSeed, 20));
        var lines = generated.CanonicalText.Split('\n').ToList();
        var noLiverMets = lines.FindIndex(l => l.StartsWith("ecog=0;liver-mets=no,1,", StringComparison.Ordinal));
        lines[noLiverMets] = lines[noLiverMets].Replace(",1,1,", ",2,1,", StringComparison.Ordinal);   // duplicate position 2
        lines.RemoveAll(l => l.StartsWith("ecog=1;liver-mets=no,", StringComparison.Ordinal));         // stratum missing

        var result = ListImport.FromCsv(Lj, string.Join('\n', lines), 20);

        var error = AssertInvalid(result, "stratum ecog=0;liver-mets=no", "stratum ecog=0;liver-mets=no", "stratum ecog=1;liver-mets=no");
        Assert.Contains(error.Errors!, e => e.Reason.Contains("appears twice", StringComparison.Ordinal));
        Assert.Contains(error.Errors!, e => e.Reason.Contains("missing: 1", StringComparison.Ordinal));
    }

    [Fact]
    public void FromCsv_MoreErrorsThanReported_Summarised()
    {
        var rows = Enumerable.Range(1, 1500).Select(p => $"all,{p},1,2,Z");

        var error = Import(Csv([.. rows])).Error!;

        Assert.Equal(ListImport.MaxReportedErrors + 1, error.Errors!.Count);
        Assert.Equal("csv", error.Errors[^1].Field);
        Assert.Contains("500 more errors", error.Errors[^1].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(200_001)]
    public void FromCsv_MinimumOutOfRange_ValidationError(int minimum)
    {
        AssertSingleError(Import(Csv(ValidAll), minimum), "minimumSlotsPerStratum", "between 1 and 200000");
    }

    [Fact]
    public void FromCsv_SingleArm_RandomizationNotApplicable()
    {
        var result = ListImport.FromCsv(Akk, Csv("all,1,1,1,AKK"), 1);

        Assert.False(result.IsSuccess);
        Assert.Equal("randomization-not-applicable", result.Error!.Code);
    }

    [Fact]
    public void FromCsv_PublicSlotsPerStratum_IsTheMinimumAskedFor()
    {
        Assert.Equal(3, AssertOk(Import(Csv(ValidAll), 3)).PublicSlotsPerStratum);
        Assert.Equal(1, AssertOk(Import(Csv(ValidAll))).PublicSlotsPerStratum);
    }

    [Fact]
    public void MinimumSlotsPerStratum_OmittedInABlindedStudy_Refused_OpenLabelTakesOne()
    {
        var blinded = Lj;
        Assert.True(blinded.IsBlinded);

        AssertSingleError(ListImport.MinimumSlotsPerStratum(blinded, null), "minimumSlotsPerStratum", "required in a blinded study");
        Assert.Equal(12, ListImport.MinimumSlotsPerStratum(blinded, 12).Value);
        Assert.Equal(1, ListImport.MinimumSlotsPerStratum(blinded with { Blinding = Blinding.OpenLabel }, null).Value);
    }
}
