using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Studies.StudyFiles;

namespace Iwrs.Domain.Tests.Studies;

public sealed class StudySummaryTests
{
    private static readonly string[] LjSecrets =
    [
        "CapeOX + pembrolizumab + Lactobacillus johnsonii",
        "CapeOX + pembrolizumab + placebo",
        "LJ-CAPS",
        "PBO-CAPS",
        "Lactobacillus johnsonii capsules, bottle of 50",
        "Placebo capsules (identical appearance), bottle of 50",
        "blockSizes",
        "kitType",
        "ratio",
    ];

    [Fact]
    public void ToSummary_BlindedStudyBlindedReader_WithholdsArmsKitTypesAndBlockSizes()
    {
        var summary = Valid(Lj).ToSummary(unblinded: false);

        Assert.Null(summary.Arms);
        Assert.Null(summary.KitTypes);
        Assert.Null(summary.BlockSizes);
        Assert.False(string.IsNullOrWhiteSpace(summary.Withheld));
    }

    [Fact]
    public void ToSummary_BlindedStudyBlindedReader_JsonNamesNoArmKitTypeOrBlockSize()
    {
        var json = Json(Valid(Lj).ToSummary(unblinded: false));

        Assert.All(LjSecrets, secret => Assert.DoesNotContain(secret, json, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("ecog", json, StringComparison.Ordinal);
        Assert.Contains("CN03", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ToSummary_BlindedStudyUnblindedReader_ShowsArmsKitTypesAndBlockSizes()
    {
        var summary = Valid(Lj).ToSummary(unblinded: true);

        Assert.NotNull(summary.Arms);
        Assert.Equal(
            [new ArmSummary("LJ", "CapeOX + pembrolizumab + Lactobacillus johnsonii", 1, "LJ-CAPS"), new ArmSummary("PBO", "CapeOX + pembrolizumab + placebo", 1, "PBO-CAPS")],
            summary.Arms);
        Assert.Equal(["LJ-CAPS", "PBO-CAPS"], summary.KitTypes!.Select(k => k.Code));
        Assert.Equal("Placebo capsules (identical appearance), bottle of 50", summary.KitTypes![1].Description);
        Assert.Equal([4, 6], summary.BlockSizes!);
        Assert.Null(summary.Withheld);
        Assert.Contains("\"blockSizes\"", Json(summary), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ToSummary_OpenLabelStudy_ShowsArmsAndKitTypesToAnyone(bool unblinded)
    {
        var summary = Valid(Akk).ToSummary(unblinded);

        Assert.Equal("AKK", Assert.Single(summary.Arms!).Code);
        Assert.Equal("AKK-CAPS", Assert.Single(summary.KitTypes!).Code);
        Assert.Null(summary.BlockSizes);
        Assert.Null(summary.Withheld);
        Assert.Empty(summary.StratificationFactors);
        Assert.False(summary.StratifyBySite);
        Assert.Equal("single-arm", summary.Allocation);
        Assert.Equal("open-label", summary.Blinding);
    }

    [Fact]
    public void ToSummary_OpenLabelRandomizedStudyBlindedReader_ShowsBlockSizes()
    {
        var c = Valid(Definitions.Randomized() with { Design = new DesignDefinition { Allocation = "randomized", Blinding = "open-label" } });

        var summary = c.ToSummary(unblinded: false);

        Assert.Equal([2, 4], summary.BlockSizes!);
        Assert.Equal(2, summary.Arms!.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ToSummary_AnyReader_ShowsStratificationFactorsDesignScheduleAndSites(bool unblinded)
    {
        var summary = Valid(Lj).ToSummary(unblinded);

        Assert.Equal(["ecog", "liver-mets"], summary.StratificationFactors.Select(f => f.Code));
        Assert.Equal(["yes", "no"], summary.StratificationFactors[1].Levels);
        Assert.Equal("Liver metastases", summary.StratificationFactors[1].Name);
        Assert.False(summary.StratifyBySite);
        Assert.Equal("LJ-MCRC", summary.StudyId);
        Assert.Equal(1, summary.Version);
        Assert.Equal("open", summary.Status);
        Assert.Equal("randomized", summary.Allocation);
        Assert.Equal("blinded", summary.Blinding);
        Assert.Equal(35, summary.VisitSchedule.DispensingVisits);
        Assert.Equal(["CN01", "CN02", "CN03"], summary.Sites.Select(s => s.SiteId));
        Assert.All(summary.Sites, s => Assert.Equal("Asia/Shanghai", s.TimeZone));
    }
}
