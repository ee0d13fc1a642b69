using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Tests.Studies;

public sealed class SeedStudyTests
{
    [Fact]
    public void Create_LjSeed_IsRandomizedOneToOneAndBlinded()
    {
        var c = StudyFiles.Valid(StudyFiles.Lj);

        Assert.Equal("LJ-MCRC", c.StudyId);
        Assert.Equal(1, c.Version);
        Assert.Equal(StudyStatus.Open, c.Status);
        Assert.Equal(Allocation.Randomized, c.Allocation);
        Assert.Equal(Blinding.Blinded, c.Blinding);
        Assert.True(c.IsBlinded);
        Assert.Equal(["LJ", "PBO"], c.Arms.Select(a => a.Code));
        Assert.Equal([1, 1], c.Arms.Select(a => a.Ratio));
        Assert.Equal(["LJ-CAPS", "PBO-CAPS"], c.Arms.Select(a => a.KitType));
        Assert.Equal(["LJ-CAPS", "PBO-CAPS"], c.KitTypes.Select(k => k.Code));
        Assert.All(c.KitTypes, k => Assert.Equal(50, k.UnitsPerKit));
    }

    [Fact]
    public void Create_LjSeed_HasBlocksOfFourAndSixAndTwoFactorsNotBySite()
    {
        var c = StudyFiles.Valid(StudyFiles.Lj);

        Assert.NotNull(c.Randomization);
        Assert.Equal([4, 6], c.Randomization.BlockSizes);
        Assert.False(c.Randomization.StratifyBySite);
        Assert.Equal(["ecog", "liver-mets"], c.Randomization.StratificationFactors.Select(f => f.Code));
        Assert.Equal(["0", "1"], c.Randomization.StratificationFactors[0].Levels);
        Assert.Equal(["yes", "no"], c.Randomization.StratificationFactors[1].Levels);
    }

    [Fact]
    public void Create_LjSeed_HasThreeActiveSitesInheritingStudySupply()
    {
        var c = StudyFiles.Valid(StudyFiles.Lj);

        Assert.Equal(["CN01", "CN02", "CN03"], c.Sites.Select(s => s.SiteId));
        Assert.All(c.Sites, s =>
        {
            Assert.True(s.Active);
            Assert.Equal("CN", s.Country);
            Assert.Equal("Asia/Shanghai", s.TimeZone);
            Assert.Equal(new SupplySettings(28, 40, 5, 7), s.Supply);
        });
        Assert.Equal(new SupplySettings(28, 40, 5, 7), c.Supply);
        Assert.Equal(new VisitSchedule("C", 21, 3, 35, 1), c.VisitSchedule);
        Assert.Equal("C1", c.VisitSchedule.VisitCodes.First());
        Assert.Equal("C35", c.VisitSchedule.VisitCodes.Last());
        Assert.Equal(35, c.VisitSchedule.VisitCodes.Count());
        Assert.Equal(11, c.Assumptions.Count);
        Assert.Contains("randomization.blockSizes", c.Assumptions.Keys);
    }

    [Fact]
    public void Create_AkkSeed_IsSingleArmOpenLabelAtOneSiteWithoutRandomization()
    {
        var c = StudyFiles.Valid(StudyFiles.Akk);

        Assert.Equal("AKK-MCRC", c.StudyId);
        Assert.Equal(Allocation.SingleArm, c.Allocation);
        Assert.Equal(Blinding.OpenLabel, c.Blinding);
        Assert.False(c.IsBlinded);
        Assert.Null(c.Randomization);
        var arm = Assert.Single(c.Arms);
        Assert.Equal(new Arm("AKK", "Anti-PD-1 (+ TKI or chemotherapy ± bevacizumab) + Akkermansia capsules", 1, "AKK-CAPS"), arm);
        var kit = Assert.Single(c.KitTypes);
        Assert.Equal("AKK-CAPS", kit.Code);
        Assert.Equal(30, kit.UnitsPerKit);
        var site = Assert.Single(c.Sites);
        Assert.Equal("CN01", site.SiteId);
        Assert.Equal(new SupplySettings(10, 14, 5, 7), site.Supply);
        Assert.Equal(52, c.VisitSchedule.DispensingVisits);
    }

    [Fact]
    public void FindSite_KnownAndUnknownSite_ReturnsSiteOrNull()
    {
        var c = StudyFiles.Valid(StudyFiles.Lj);

        Assert.Equal("CN02", c.FindSite("CN02")?.SiteId);
        Assert.Null(c.FindSite("CN04"));
        Assert.Null(c.FindSite("cn02"));
    }
}
